module splicefs.local/gofuse-loopback

go 1.19

require github.com/hanwen/go-fuse/v2 v2.1.0

require golang.org/x/sys v0.0.0-20180830151530-49385e6e1522 // indirect

replace github.com/hanwen/go-fuse/v2 => /usr/share/gocode/src/github.com/hanwen/go-fuse

replace golang.org/x/sys => /usr/share/gocode/src/golang.org/x/sys

// go-fuse's go.mod lists these two for its tests only; empty stand-ins let the
// module graph resolve with GOPROXY=off.
replace github.com/kylelemons/godebug => ./stubs/godebug

replace golang.org/x/sync => ./stubs/xsync
