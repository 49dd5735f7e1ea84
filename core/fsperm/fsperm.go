// Package fsperm keeps Warden's state directory private: the directory and
// every directory below it 0700, every file 0600 (or a looser policy chosen
// for deployments that share a group). It can check (for audit) or enforce
// (at boot), and it never follows symbolic links.
package fsperm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// Policy is the most permissive mode allowed for directories and files.
type Policy struct {
	DirMode  fs.FileMode
	FileMode fs.FileMode
	// Exclude names directories directly under the checked directory
	// that are neither checked nor walked into: the sandbox workspace
	// belongs to the sandbox's user.
	Exclude []string
}

// Private is the default policy: 0700 directories, 0600 files.
func Private() Policy { return Policy{DirMode: 0o700, FileMode: 0o600} }

// Change records a mode Enforce tightened.
type Change struct {
	Path string
	From fs.FileMode
	To   fs.FileMode
}

func (c Change) String() string {
	return fmt.Sprintf("%s: mode %04o -> %04o", c.Path, c.From.Perm(), c.To.Perm())
}

// Issue kinds reported by Check and Enforce.
const (
	IssueMode      = "mode"      // permissions looser than the policy
	IssueSymlink   = "symlink"   // a symbolic link; its target may be outside the directory
	IssueOwner     = "owner"     // owned by another user
	IssueNotDir    = "not_dir"   // the state path is not a directory
	IssueUnchecked = "unchecked" // the platform cannot tell (Windows ACLs)
)

// Problem is something Check found.
type Problem struct {
	Path   string
	Issue  string
	Mode   fs.FileMode // the current mode, for IssueMode
	Want   fs.FileMode // the policy's mode, for IssueMode
	Target string      // link target, for IssueSymlink
	Detail string
}

func (p Problem) String() string {
	switch p.Issue {
	case IssueMode:
		return fmt.Sprintf("%s: mode %04o is looser than %04o", p.Path, p.Mode.Perm(), p.Want.Perm())
	case IssueSymlink:
		return fmt.Sprintf("%s: symbolic link to %s", p.Path, p.Target)
	default:
		return fmt.Sprintf("%s: %s", p.Path, p.Detail)
	}
}

// Report is the result of Enforce.
type Report struct {
	Fixed    []Change
	Problems []Problem // what could not or must not be fixed (symlinks are reported, never followed)
}

// ErrUnfixable is wrapped by Enforce when a path stays more open than the policy.
var ErrUnfixable = errors.New("permissions cannot be fixed")

// EnsureDir creates dir (and missing parents) with the policy's directory
// mode, or tightens an existing one. It fails when dir exists but is not a
// directory, belongs to another user, or cannot be tightened.
func EnsureDir(dir string, p Policy) (Report, error) {
	var rep Report
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, p.DirMode); err != nil {
			return rep, fmt.Errorf("create state directory %s: %w", dir, err)
		}
		// MkdirAll applies the umask; set the mode explicitly.
		if err := chmod(dir, p.DirMode); err != nil {
			return rep, fmt.Errorf("set mode of %s: %w", dir, err)
		}
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("stat state directory %s: %w", dir, err)
	case !fi.IsDir():
		return rep, fmt.Errorf("state directory %s: not a directory", dir)
	}
	if !ownedByCurrentUser(fi) {
		return rep, fmt.Errorf("state directory %s: owned by another user: %w", dir, ErrUnfixable)
	}
	if loose(fi.Mode(), p.DirMode) {
		want := fi.Mode().Perm() & p.DirMode
		if err := chmod(dir, want); err != nil {
			return rep, fmt.Errorf("state directory %s has mode %04o: %w (%v)", dir, fi.Mode().Perm(), ErrUnfixable, err)
		}
		rep.Fixed = append(rep.Fixed, Change{Path: dir, From: fi.Mode().Perm(), To: want})
	}
	return rep, nil
}

// Check walks dir without following links and reports every entry that is
// looser than the policy, owned by someone else, or a symbolic link.
func Check(dir string, p Policy) ([]Problem, error) {
	var problems []Problem
	if !modesSupported() {
		return []Problem{{Path: dir, Issue: IssueUnchecked, Detail: "file modes are not checked on this OS"}}, nil
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		if fi.IsDir() && filepath.Dir(path) == filepath.Clean(dir) && slices.Contains(p.Exclude, fi.Name()) {
			return filepath.SkipDir
		}
		problems = append(problems, inspect(path, fi, p)...)
		return nil
	})
	if err != nil {
		return problems, err
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Path < problems[j].Path })
	return problems, nil
}

func inspect(path string, fi fs.FileInfo, p Policy) []Problem {
	var out []Problem
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(path)
		return []Problem{{Path: path, Issue: IssueSymlink, Target: target, Detail: "symbolic link"}}
	case fi.IsDir():
		if loose(fi.Mode(), p.DirMode) {
			out = append(out, Problem{Path: path, Issue: IssueMode, Mode: fi.Mode().Perm(), Want: p.DirMode})
		}
	case fi.Mode().IsRegular():
		if loose(fi.Mode(), p.FileMode) {
			out = append(out, Problem{Path: path, Issue: IssueMode, Mode: fi.Mode().Perm(), Want: p.FileMode})
		}
	default:
		// Sockets and pipes: their mode matters as much as a file's.
		if loose(fi.Mode(), p.FileMode) {
			out = append(out, Problem{Path: path, Issue: IssueMode, Mode: fi.Mode().Perm(), Want: p.FileMode})
		}
	}
	if !ownedByCurrentUser(fi) {
		out = append(out, Problem{Path: path, Issue: IssueOwner, Detail: "owned by another user"})
	}
	return out
}

// Enforce tightens every directory and file under dir (dir included) to the
// policy. Symbolic links are reported and left alone. It returns an error
// wrapping ErrUnfixable when anything stays looser than the policy.
func Enforce(dir string, p Policy) (Report, error) {
	var rep Report
	problems, err := Check(dir, p)
	if err != nil {
		return rep, err
	}
	var unfixable []string
	for _, pr := range problems {
		switch pr.Issue {
		case IssueMode:
			want := pr.Mode & pr.Want
			if err := chmod(pr.Path, want); err != nil {
				unfixable = append(unfixable, fmt.Sprintf("%s (%v)", pr, err))
				continue
			}
			rep.Fixed = append(rep.Fixed, Change{Path: pr.Path, From: pr.Mode, To: want})
		case IssueOwner:
			unfixable = append(unfixable, pr.String())
		default:
			rep.Problems = append(rep.Problems, pr)
		}
	}
	if len(unfixable) > 0 {
		return rep, fmt.Errorf("%w: %s", ErrUnfixable, joinLimited(unfixable, 5))
	}
	return rep, nil
}

// loose reports whether mode grants any permission bit the policy does not.
func loose(mode, policy fs.FileMode) bool {
	return mode.Perm()&^policy.Perm() != 0
}

func joinLimited(items []string, n int) string {
	out := ""
	for i, s := range items {
		if i == n {
			return out + fmt.Sprintf("; and %d more", len(items)-n)
		}
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}
