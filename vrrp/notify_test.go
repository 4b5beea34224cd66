package vrrp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunShell(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := runShell(ctx, "printf '%s,' >"+out, []string{"INSTANCE", "VI_1", "MASTER", "100"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "INSTANCE,VI_1,MASTER,100,"; got != want {
		t.Errorf("notify args = %q, want %q", got, want)
	}
	// A hung script is killed by the timeout and reported.
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = runShell(ctx, "exec sleep 30", nil)
	if err == nil || !strings.Contains(err.Error(), "sleep 30") {
		t.Errorf("hung notify = %v, want an error naming it", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("hung notify took %v to be stopped", d)
	}
}
