//go:build linux

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/warden-sec/warden/core/sandbox/loopguard"
)

// How memory and processes are limited.
const (
	limitsCgroup2 = "cgroup2"
	limitsCgroup1 = "cgroup1"
	limitsRlimit  = "rlimit"
)

// cgroupRoot is where cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupParent is the directory Warden's sandboxes are created under, in
// the v2 hierarchy or in each v1 controller's.
const cgroupParent = "warden-sandbox"

// cgroup is one sandbox's memory and pids cgroup(s).
type cgroup struct {
	kind string
	dirs []string // v2: one; v1: memory, then pids
	fd   int      // v2: directory descriptor for CLONE_INTO_CGROUP; else -1
}

// cgroupStats is what the cgroup counted.
type cgroupStats struct {
	oomKills int64 // processes the memory limit killed
	pidsMax  int64 // forks refused at the pids limit
}

// CgroupSupport reports which kind of cgroup limits this host offers to
// this process: "cgroup2", "cgroup1" or "rlimit" (none), and why not a
// better one.
func CgroupSupport() (kind string, why []string) {
	if err := v2Usable(); err == nil {
		return limitsCgroup2, nil
	} else {
		why = append(why, "cgroup v2: "+err.Error())
	}
	if err := v1Usable(); err == nil {
		return limitsCgroup1, why
	} else {
		why = append(why, "cgroup v1: "+err.Error())
	}
	return limitsRlimit, why
}

func v2Usable() error {
	b, err := os.ReadFile(filepath.Join(cgroupRoot, "cgroup.controllers"))
	if err != nil {
		return errors.New("no unified hierarchy")
	}
	have := strings.Fields(string(b))
	for _, c := range []string{"memory", "pids"} {
		if !contains(have, c) {
			return fmt.Errorf("the %s controller is not in the unified hierarchy", c)
		}
	}
	return unix.Access(cgroupRoot, unix.W_OK)
}

func v1Usable() error {
	for _, c := range []string{"memory", "pids"} {
		dir := filepath.Join(cgroupRoot, c)
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil || st.Type != unix.CGROUP_SUPER_MAGIC {
			return fmt.Errorf("no %s hierarchy", c)
		}
		if err := unix.Access(dir, unix.W_OK); err != nil {
			return fmt.Errorf("%s hierarchy not writable", c)
		}
	}
	return nil
}

// newCgroup creates the cgroup(s) for one sandbox with limits set, or
// returns a cgroup of kind "rlimit" when the host has none to offer.
func newCgroup(id string, l Limits) (*cgroup, error) {
	kind, _ := CgroupSupport()
	cg := &cgroup{kind: kind, fd: -1}
	switch kind {
	case limitsCgroup2:
		parent := filepath.Join(cgroupRoot, cgroupParent)
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		// The root cgroup may delegate controllers without the "no
		// internal processes" rule; the parent holds no process.
		_ = os.WriteFile(filepath.Join(cgroupRoot, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +pids"), 0); err != nil {
			return nil, fmt.Errorf("enable memory and pids in %s: %w", parent, err)
		}
		dir := filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		cg.dirs = []string{dir}
		for name, v := range map[string]string{
			"memory.max":      strconv.FormatInt(l.Memory, 10),
			"memory.swap.max": "0",
			"pids.max":        strconv.Itoa(l.Pids),
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0); err != nil && name != "memory.swap.max" {
				cg.remove()
				return nil, fmt.Errorf("set %s: %w", name, err)
			}
		}
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			cg.remove()
			return nil, err
		}
		cg.fd = fd
	case limitsCgroup1:
		mem := filepath.Join(cgroupRoot, "memory", cgroupParent, id)
		pids := filepath.Join(cgroupRoot, "pids", cgroupParent, id)
		for _, d := range []string{mem, pids} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				cg.remove()
				return nil, err
			}
			cg.dirs = append(cg.dirs, d)
		}
		limit := strconv.FormatInt(l.Memory, 10)
		if err := os.WriteFile(filepath.Join(mem, "memory.limit_in_bytes"), []byte(limit), 0); err != nil {
			cg.remove()
			return nil, fmt.Errorf("set memory.limit_in_bytes: %w", err)
		}
		// Without swap accounting there is no memsw file; swap is then
		// the host's business.
		_ = os.WriteFile(filepath.Join(mem, "memory.memsw.limit_in_bytes"), []byte(limit), 0)
		_ = os.WriteFile(filepath.Join(mem, "memory.swappiness"), []byte("0"), 0)
		if err := os.WriteFile(filepath.Join(pids, "pids.max"), []byte(strconv.Itoa(l.Pids)), 0); err != nil {
			cg.remove()
			return nil, fmt.Errorf("set pids.max: %w", err)
		}
	}
	return cg, nil
}

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted: at
// cgroupRoot on a unified host, at cgroupRoot/unified beside the v1
// hierarchies on a hybrid one.
func cgroup2Mount() (string, error) {
	for _, dir := range []string{cgroupRoot, filepath.Join(cgroupRoot, "unified")} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir, nil
		}
	}
	return "", errors.New("no cgroup v2 hierarchy mounted")
}

// guardAvailable reports whether a sandbox with network can get the
// loopback guard here.
func guardAvailable() error {
	if os.Geteuid() != 0 {
		return errNeedsRoot
	}
	if _, err := cgroup2Mount(); err != nil {
		return err
	}
	return loopguard.Available()
}

var errNeedsRoot = errors.New("it needs root: cgroup BPF programs")

// guardNetwork attaches the loopback guard to the sandbox's cgroup v2
// directory: its own when the limits are v2, otherwise one made for the
// guard alone (a hybrid host's v2 hierarchy has no controllers to
// offer, but runs BPF programs), into which the sandbox is then cloned.
func (c *cgroup) guardNetwork(id string) error {
	if os.Geteuid() != 0 {
		return errNeedsRoot
	}
	var dir string
	if c.kind == limitsCgroup2 {
		dir = c.dirs[0]
	} else {
		mnt, err := cgroup2Mount()
		if err != nil {
			return err
		}
		parent := filepath.Join(mnt, cgroupParent)
		if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		dir = filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return err
		}
		c.dirs = append(c.dirs, dir)
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		c.fd = fd
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return loopguard.AttachCurrent(fd)
}

// place moves the sandbox's init into the v1 cgroups before it runs
// anything (it is waiting for its setup); v2 placed it at clone.
func (c *cgroup) place(pid int) error {
	if c.kind != limitsCgroup1 {
		return nil
	}
	for _, d := range c.dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("place in %s: %w", d, err)
		}
	}
	return nil
}

func (c *cgroup) stats() cgroupStats {
	var s cgroupStats
	switch c.kind {
	case limitsCgroup2:
		s.oomKills = keyed(filepath.Join(c.dirs[0], "memory.events"), "oom_kill")
		s.pidsMax = keyed(filepath.Join(c.dirs[0], "pids.events"), "max")
	case limitsCgroup1:
		s.oomKills = keyed(filepath.Join(c.dirs[0], "memory.oom_control"), "oom_kill")
		s.pidsMax = keyed(filepath.Join(c.dirs[1], "pids.events"), "max")
	}
	return s
}

// keyed reads "key value" lines and returns key's value (0 if absent).
func keyed(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the cgroup(s); the sandbox has exited. A cgroup stays
// busy for a moment after its last process is reaped.
func (c *cgroup) remove() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	for _, d := range c.dirs {
		for i := 0; i < 50; i++ {
			err := unix.Rmdir(d)
			if err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	c.dirs = nil
}
