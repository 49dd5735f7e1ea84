package landlock

import "testing"

func TestPlan(t *testing.T) {
	all := Ruleset{DenyTCP: true, Scope: true}
	const abi1 = Execute | WriteFile | ReadFile | ReadDir | RemoveDir | RemoveFile |
		MakeChar | MakeDir | MakeReg | MakeSock | MakeFifo | MakeBlock | MakeSym
	tests := []struct {
		abi  int
		want Enforced
	}{
		{0, Enforced{}},
		{-1, Enforced{}},
		{1, Enforced{ABI: 1, HandledFS: abi1}},
		{2, Enforced{ABI: 2, HandledFS: abi1 | Refer}},
		{3, Enforced{ABI: 3, HandledFS: abi1 | Refer | Truncate}},
		{4, Enforced{ABI: 4, HandledFS: abi1 | Refer | Truncate, TCP: true}},
		{5, Enforced{ABI: 5, HandledFS: abi1 | Refer | Truncate | IoctlDev, TCP: true}},
		{6, Enforced{ABI: 6, HandledFS: abi1 | Refer | Truncate | IoctlDev, TCP: true, Scope: true}},
		{7, Enforced{ABI: 7, HandledFS: abi1 | Refer | Truncate | IoctlDev, TCP: true, Scope: true}},
		// A newer kernel: only the rights this package knows are handled.
		{9, Enforced{ABI: 9, HandledFS: abi1 | Refer | Truncate | IoctlDev, TCP: true, Scope: true}},
	}
	for _, tt := range tests {
		if got := Plan(all, tt.abi); got != tt.want {
			t.Errorf("Plan(abi %d) = %+v (fs %s), want %+v (fs %s)", tt.abi, got, got.HandledFS, tt.want, tt.want.HandledFS)
		}
	}
	if got := Plan(Ruleset{}, 7); got.TCP || got.Scope || got.EphemeralBind {
		t.Errorf("Plan without DenyTCP and Scope = %+v, want TCP and Scope false", got)
	}
	// EphemeralBindOnly needs ABI 4 and means nothing when TCP is denied.
	eph := Ruleset{EphemeralBindOnly: true}
	if got := Plan(eph, 3); got.EphemeralBind {
		t.Errorf("Plan(EphemeralBindOnly, abi 3) = %+v", got)
	}
	if got := Plan(eph, 4); !got.EphemeralBind || got.TCP {
		t.Errorf("Plan(EphemeralBindOnly, abi 4) = %+v", got)
	}
	if got := Plan(Ruleset{DenyTCP: true, EphemeralBindOnly: true}, 7); got.EphemeralBind || !got.TCP {
		t.Errorf("Plan(DenyTCP and EphemeralBindOnly) = %+v", got)
	}
}

func TestSets(t *testing.T) {
	if ReadWrite&Refer == 0 {
		t.Error("ReadWrite lacks Refer: renames between workspace dirs would fail with EXDEV")
	}
	if ReadWrite&(Execute|MakeChar|MakeBlock) != 0 {
		t.Errorf("ReadWrite = %s, must not carry execute, make_char or make_block", ReadWrite)
	}
	if ReadWriteExec&^ReadWrite != Execute {
		t.Errorf("ReadWriteExec adds %s to ReadWrite, want execute", ReadWriteExec&^ReadWrite)
	}
	if DevRW&^fileRights != 0 {
		t.Errorf("DevRW carries directory rights %s", DevRW&^fileRights)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		a    Access
		want string
	}{
		{0, "none"},
		{ReadOnly, "read_file,read_dir"},
		{ReadExec, "execute,read_file,read_dir"},
		{DevRW, "write_file,read_file,ioctl_dev"},
		{Refer | Truncate, "refer,truncate"},
		{ReadFile | 1<<20, "read_file,0x100000"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Access(%#x).String() = %q, want %q", uint64(tt.a), got, tt.want)
		}
	}
}
