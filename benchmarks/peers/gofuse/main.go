// Loopback peer for the splicefs benchmark: mirrors SOURCE onto MOUNTPOINT with
// go-fuse v2's fs.NewLoopbackRoot and stays in the foreground until SIGTERM/SIGINT
// or an external unmount.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

func main() {
	debug := flag.Bool("debug", false, "log every FUSE request")
	direct := flag.Bool("direct-mount", true, "call mount(2) directly (root) instead of fusermount")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-debug] SOURCE MOUNTPOINT\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	src, mnt := flag.Arg(0), flag.Arg(1)

	root, err := fs.NewLoopbackRoot(src)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofuse-loopback: %v\n", err)
		os.Exit(1)
	}
	// Same timeouts as go-fuse's own loopback example.
	sec := time.Second
	opts := &fs.Options{AttrTimeout: &sec, EntryTimeout: &sec}
	opts.MountOptions = fuse.MountOptions{
		FsName:      src,
		Name:        "gofuse-loopback",
		Debug:       *debug,
		DirectMount: *direct,
		Options:     []string{"default_permissions"},
	}
	server, err := fs.Mount(mnt, root, opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gofuse-loopback: mount failed: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gofuse-loopback: mounted %s on %s\n", src, mnt)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		if err := server.Unmount(); err != nil {
			fmt.Fprintf(os.Stderr, "gofuse-loopback: unmount: %v\n", err)
			os.Exit(1)
		}
	}()
	server.Wait()
}
