//go:build !unix

package conformance

import (
	"os"
	"os/exec"
)

func ownGroup(*exec.Cmd) {}

// terminate stops the app: an interrupt, or a kill when hard.
func terminate(cmd *exec.Cmd, hard bool) {
	if cmd.Process == nil {
		return
	}
	if hard {
		_ = cmd.Process.Kill()
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
}
