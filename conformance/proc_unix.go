//go:build unix

package conformance

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the app in a process group of its own, so that stopping
// it reaches what it started (`go run` runs the binary it built as a child).
func ownGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// terminate signals the app's process group: SIGTERM, or SIGKILL when hard.
func terminate(cmd *exec.Cmd, hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		_ = cmd.Process.Signal(sig)
	}
}
