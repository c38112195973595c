module github.com/kylelemons/godebug
