package lua

import (
	"os"
	"path/filepath"
	"testing"
)

// Tests of peacepie's patch: a registry that may grow may start with
// MinGrowingRegistrySize slots.

// TestSmallGrowingRegistry runs upstream's Lua test scripts in states whose
// registry starts at the smallest size and grows 16 slots at a time, with
// the call stack that grows and shrinks (as peacepie's actors run): every
// path that pushes or calls must grow it.
func TestSmallGrowingRegistry(t *testing.T) {
	L := NewState(Options{RegistrySize: MinGrowingRegistrySize, RegistryMaxSize: 1024 * 20, RegistryGrowStep: 16})
	if n := len(L.reg.array); n != MinGrowingRegistrySize {
		t.Fatalf("a growing registry of %d slots starts with %d", MinGrowingRegistrySize, n)
	}
	L.Close()
	for _, c := range []Options{
		{RegistrySize: MinGrowingRegistrySize - 1, RegistryMaxSize: 1024},
		{RegistrySize: 64}, // fixed: at least 128
	} {
		L := NewState(c)
		if n := len(L.reg.array); n != RegistrySize {
			t.Errorf("%+v: %d slots, want the default %d", c, n, RegistrySize)
		}
		L.Close()
	}

	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir, scripts := range map[string][]string{"_glua-tests": gluaTests, "_lua5.1-tests": luaTests} {
		for _, script := range scripts {
			t.Run(dir+"/"+script, func(t *testing.T) {
				if err := os.Chdir(filepath.Join(wd, dir)); err != nil {
					t.Fatal(err)
				}
				defer os.Chdir(wd)
				defer os.Unsetenv("_____GLUATEST______") // os.lua sets it, and TestGlua's os.lua wants it unset
				L := NewState(Options{
					RegistrySize:        MinGrowingRegistrySize,
					RegistryMaxSize:     1024 * 20,
					RegistryGrowStep:    16,
					CallStackSize:       1024,
					MinimizeStackMemory: true,
					IncludeGoStackTrace: true,
				})
				defer L.Close()
				L.SetMx(maxMemory)
				if err := L.DoFile(script); err != nil {
					t.Error(err)
				}
			})
		}
	}
}
