package sops

import (
	"testing"

	"filippo.io/age"
)

func FuzzDecrypt(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	r, _ := ParseRecipient(id.Recipient().String())
	key, _ := NewDataKey()
	keys, _ := WrapDataKey(key, r)
	for _, src := range []string{"a: 1\n", sample, "# c\nl:\n  - x # y\n  - {k: v}\n"} {
		root, err := parseDocument([]byte(src))
		if err != nil {
			f.Fatal(err)
		}
		enc, err := Encrypt(root, EncryptOptions{Keys: keys, DataKey: key})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decrypt(data, id)
		if err == nil && doc.Root == nil {
			t.Fatal("nil document without error")
		}
	})
}
