//go:build linux

package loopguard

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// insn is struct bpf_insn.
type insn struct {
	code uint8
	regs uint8 // dst in the low nibble, src in the high one
	off  int16
	imm  int32
}

// Opcode parts (include/uapi/linux/bpf.h, bpf_common.h).
const (
	clsLDX   = 0x01
	clsALU   = 0x04 // 32-bit
	clsJMP   = 0x05
	clsJMP32 = 0x06
	clsALU64 = 0x07

	szW = 0x00
	szH = 0x08
	szB = 0x10

	modeMEM = 0x60

	srcK = 0x00
	srcX = 0x08

	aluADD = 0x00
	aluLSH = 0x60
	aluRSH = 0x70
	aluAND = 0x50
	aluMOV = 0xb0

	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJNE  = 0x50
	jmpCALL = 0x80
	jmpEXIT = 0x90
)

// Registers.
const (
	r0 = iota
	r1
	r2
	r3
	r4
	r5
	r6
	r7
	r8
	r9
	r10 // frame pointer, read-only
)

// fnSkbLoadBytes is BPF_FUNC_skb_load_bytes.
const fnSkbLoadBytes = 26

// Context offsets: struct bpf_sock_addr and struct __sk_buff.
const (
	offUserIP4  = 4
	offUserIP6  = 8 // four 32-bit words
	offUserPort = 24
	offIfindex  = 40
)

// loopbackIfindex is the loopback device's index in every network
// namespace.
const loopbackIfindex = 1

// asm assembles a program with forward jumps to labels.
type asm struct {
	prog   []insn
	labels map[string]int
	fixups map[int]string
}

func newAsm() *asm { return &asm{labels: map[string]int{}, fixups: map[int]string{}} }

func (a *asm) emit(code uint8, dst, src uint8, off int16, imm int32) {
	a.prog = append(a.prog, insn{code: code, regs: dst | src<<4, off: off, imm: imm})
}

func (a *asm) label(name string) { a.labels[name] = len(a.prog) }

// jump emits a conditional (or, with jmpJA, unconditional) jump to label.
func (a *asm) jump(class, op, dst uint8, imm int32, label string) {
	a.fixups[len(a.prog)] = label
	a.emit(class|op|srcK, dst, 0, 0, imm)
}

func (a *asm) ldx(size, dst, src uint8, off int16) { a.emit(clsLDX|size|modeMEM, dst, src, off, 0) }
func (a *asm) movImm(dst uint8, imm int32)         { a.emit(clsALU64|aluMOV|srcK, dst, 0, 0, imm) }
func (a *asm) movReg(dst, src uint8)               { a.emit(clsALU64|aluMOV|srcX, dst, src, 0, 0) }
func (a *asm) alu64Imm(op, dst uint8, imm int32)   { a.emit(clsALU64|op|srcK, dst, 0, 0, imm) }
func (a *asm) and32(dst uint8, imm uint32)         { a.emit(clsALU|aluAND|srcK, dst, 0, 0, int32(imm)) }
func (a *asm) call(fn int32)                       { a.emit(clsJMP|jmpCALL, 0, 0, 0, fn) }
func (a *asm) ret(v int32)                         { a.movImm(r0, v); a.emit(clsJMP|jmpEXIT, 0, 0, 0, 0) }

// jne32 jumps to label when the low 32 bits of dst differ from v.
func (a *asm) jne32(dst uint8, v uint32, label string) {
	a.jump(clsJMP32, jmpJNE, dst, int32(v), label)
}
func (a *asm) jeq32(dst uint8, v uint32, label string) {
	a.jump(clsJMP32, jmpJEQ, dst, int32(v), label)
}
func (a *asm) ja(label string) { a.jump(clsJMP, jmpJA, 0, 0, label) }

func (a *asm) assemble() ([]insn, error) {
	for at, name := range a.fixups {
		to, ok := a.labels[name]
		if !ok {
			return nil, fmt.Errorf("loopguard: no label %q", name)
		}
		if to <= at || to-at-1 > 0x7fff {
			return nil, fmt.Errorf("loopguard: jump from %d to %q at %d", at, name, to)
		}
		a.prog[at].off = int16(to - at - 1)
	}
	return a.prog, nil
}

// word is the value a 32-bit load of four bytes (in network order) gives
// on this machine.
func word(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }

// dnsPortWord is port 53 as a load gives it: the context holds a port as
// its network-order 16 bits, and so does the packet.
var dnsPortWord = uint32(binary.NativeEndian.Uint16([]byte{DNSPort >> 8, DNSPort & 0xff}))

// maskBytes is the network-order mask of a prefix length over n bytes.
func maskBytes(bits, n int) []byte {
	m := make([]byte, n)
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return m
}

// masked is one 32-bit word of an address prefix.
type masked struct {
	index       int // word 0..3
	value, mask uint32
}

// words16 splits a prefix into 32-bit (value, mask) words in its 16-byte
// IPv6 form (IPv4 prefixes as IPv4-mapped), skipping words the mask
// ignores.
func words16(p netip.Prefix) []masked {
	a := p.Addr()
	bits := p.Bits()
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
		bits += 96
	}
	b := a.As16()
	m := maskBytes(bits, 16)
	var out []masked
	for i := 0; i < 4; i++ {
		mw := word(m[4*i:])
		if mw == 0 {
			continue
		}
		out = append(out, masked{index: i, value: word(b[4*i:]) & mw, mask: mw})
	}
	return out
}

// sockAddr4 is the connect4 and sendmsg4 program: 1 lets the call go on,
// 0 makes it fail with EPERM.
func sockAddr4(r Rules) ([]insn, error) {
	a := newAsm()
	a.ldx(szW, r2, r1, offUserIP4)
	a.ldx(szW, r3, r1, offUserPort)
	for i, ns := range r.DNS {
		if !ns.Is4() {
			continue
		}
		next := fmt.Sprintf("dns%d", i)
		b := ns.As4()
		a.jne32(r2, word(b[:]), next)
		a.jne32(r3, dnsPortWord, next)
		a.ja("allow")
		a.label(next)
	}
	for _, p := range r.Deny {
		if !p.Addr().Is4() {
			continue
		}
		b := p.Addr().As4()
		m := word(maskBytes(p.Bits(), 4))
		if m == 0xffffffff {
			a.jeq32(r2, word(b[:]), "deny")
			continue
		}
		a.movReg(r4, r2)
		a.and32(r4, m)
		a.jeq32(r4, word(b[:])&m, "deny")
	}
	a.label("allow")
	a.ret(1)
	a.label("deny")
	a.ret(0)
	return a.assemble()
}

// sockAddr6 is the connect6 and sendmsg6 program, which also sees the
// IPv4-mapped form of every IPv4 rule.
func sockAddr6(r Rules) ([]insn, error) {
	a := newAsm()
	for i := 0; i < 4; i++ {
		a.ldx(szW, uint8(r2+i), r1, int16(offUserIP6+4*i))
	}
	a.ldx(szW, r7, r1, offUserPort)
	for i, ns := range r.DNS {
		next := fmt.Sprintf("dns%d", i)
		for _, w := range words16(netip.PrefixFrom(ns, ns.BitLen())) {
			a.jne32(uint8(r2+w.index), w.value, next)
		}
		a.jne32(r7, dnsPortWord, next)
		a.ja("allow")
		a.label(next)
	}
	for i, p := range r.Deny {
		next := fmt.Sprintf("rule%d", i)
		for _, w := range words16(p) {
			reg := uint8(r2 + w.index)
			if w.mask != 0xffffffff {
				a.movReg(r8, reg)
				a.and32(r8, w.mask)
				reg = r8
			}
			a.jne32(reg, w.value, next)
		}
		a.ja("deny")
		a.label(next)
	}
	a.label("allow")
	a.ret(1)
	a.label("deny")
	a.ret(0)
	return a.assemble()
}

// egress is the cgroup_skb egress program: a packet leaving through the
// loopback device is dropped (0), unless it goes to a local name server
// on port 53 over TCP or UDP.
func egress(r Rules) ([]insn, error) {
	a := newAsm()
	a.movReg(r6, r1)
	a.ldx(szW, r2, r6, offIfindex)
	a.jump(clsJMP, jmpJNE, r2, loopbackIfindex, "allow")
	var dns4, dns6 []netip.Addr
	for _, ns := range r.DNS {
		if ns.Is4() {
			dns4 = append(dns4, ns)
		} else {
			dns6 = append(dns6, ns)
		}
	}
	if len(r.DNS) == 0 {
		a.ja("deny")
	} else {
		// load copies n bytes of the packet from offset (a register or a
		// constant) to the stack at fp-off; a failure drops the packet.
		load := func(offReg uint8, offImm int32, n int32, fpOff int32) {
			a.movReg(r1, r6)
			if offReg != 0 {
				a.movReg(r2, offReg)
			} else {
				a.movImm(r2, offImm)
			}
			a.movReg(r3, r10)
			a.alu64Imm(aluADD, r3, -fpOff)
			a.movImm(r4, n)
			a.call(fnSkbLoadBytes)
			a.jump(clsJMP, jmpJNE, r0, 0, "deny")
		}
		// checkProto drops what is not TCP or UDP (protocol byte in r8).
		checkProto := func(ok string) {
			a.jump(clsJMP, jmpJEQ, r8, 6, ok)      // TCP
			a.jump(clsJMP, jmpJNE, r8, 17, "deny") // UDP
			a.label(ok)
		}
		load(0, 0, 1, 8)
		a.ldx(szB, r7, r10, -8)
		a.movReg(r8, r7)
		a.alu64Imm(aluRSH, r8, 4)
		a.jump(clsJMP, jmpJEQ, r8, 4, "v4")
		a.jump(clsJMP, jmpJEQ, r8, 6, "v6")
		a.ja("deny")

		a.label("v4")
		if len(dns4) == 0 {
			a.ja("deny")
		} else {
			load(0, 9, 1, 8)
			a.ldx(szB, r8, r10, -8)
			checkProto("v4proto")
			load(0, 16, 4, 8)
			a.ldx(szW, r9, r10, -8)
			// The destination port follows the IPv4 header (IHL words).
			a.alu64Imm(aluAND, r7, 0x0f)
			a.alu64Imm(aluLSH, r7, 2)
			a.alu64Imm(aluADD, r7, 2)
			load(r7, 0, 2, 8)
			a.ldx(szH, r8, r10, -8)
			a.jne32(r8, dnsPortWord, "deny")
			for _, ns := range dns4 {
				b := ns.As4()
				a.jeq32(r9, word(b[:]), "allow")
			}
			a.ja("deny")
		}

		a.label("v6")
		if len(dns6) == 0 {
			a.ja("deny")
		} else {
			load(0, 6, 1, 8)
			a.ldx(szB, r8, r10, -8)
			checkProto("v6proto")
			load(0, 42, 2, 8) // no extension headers: not DNS
			a.ldx(szH, r8, r10, -8)
			a.jne32(r8, dnsPortWord, "deny")
			load(0, 24, 16, 32)
			for i, ns := range dns6 {
				next := fmt.Sprintf("dns6_%d", i)
				b := ns.As16()
				for w := 0; w < 4; w++ {
					a.ldx(szW, r2, r10, int16(-32+4*w))
					a.jne32(r2, word(b[4*w:]), next)
				}
				a.ja("allow")
				a.label(next)
			}
			a.ja("deny")
		}
	}
	a.label("allow")
	a.ret(1)
	a.label("deny")
	a.ret(0)
	return a.assemble()
}
