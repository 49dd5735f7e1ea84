// Package sops reads and writes YAML files in the SOPS format with age
// recipients, so that files Warden encrypts open with the `sops` tool and
// files `sops` encrypts load in Warden.
//
// The format, as the reference implementation defines it:
//
//   - keys and structure stay in the clear; every scalar value becomes
//     ENC[AES256_GCM,data:…,iv:…,tag:…,type:str|int|float|bool|time|comment],
//     comments included, with AES-256-GCM, a 32-byte nonce and the key path
//     joined by ':' (and ending in ':') as additional data, so a value moved
//     to another key no longer decrypts;
//   - one random 256-bit data key per file, wrapped for each age recipient
//     as an armored age file under sops.age[].enc;
//   - a MAC: SHA-512 over the plaintext values in document order, encrypted
//     with the data key and sops.lastmodified as additional data, so an
//     edit, a reorder or a removal is detected;
//   - keys matching the file's selector (unencrypted_suffix by default
//     "_unencrypted", or encrypted_suffix / *_regex) stay in the clear but
//     are still covered by the MAC.
//
// Decryption happens on the parsed YAML node tree in memory: line numbers
// of the encrypted file are kept, so a configuration error can point at the
// line a user sees when editing the file with `sops`.
package sops
