// Package auditlog is Warden's tamper-evident audit log.
//
// Every entry carries a sequence number, time, actor, action, target,
// outcome, source IP and details (a JSON object), and is chained to the
// previous one: hash = HMAC-SHA256(key, prev_hash || body), where body is
// the canonical encoding of the entry (see Encode) and the key lives in the
// encrypted secret store. Someone with write access to the database but
// not the key cannot edit, delete, insert or reorder entries without
// Verify naming the first broken sequence number; someone who also has the
// key is caught by signed checkpoints kept elsewhere (Checkpoint).
//
// The chain alone cannot show that entries were cut from its end. Each
// commit therefore also seals the new end (seq and hash, MACed with a key
// derived from the audit key) in a head record kept beside the database
// (Options.HeadFile), before its appends return; Verify names entries
// missing up to the sealed seq. A commit that finds the record missing,
// altered or ahead of the chain writes an audit.seal entry saying so, so the
// finding survives the record being rewritten. Rolling back the database
// and the head record together is caught only by checkpoints.
//
// Retention deletes a prefix of the chain and, in the same transaction,
// appends a retention_purge entry recording the purged range and the hash
// the remaining chain starts from, so verification passes after a purge
// and fails after any other deletion.
//
// Appends from many goroutines are batched into one transaction (group
// commit); each returns only once its entry is durable. Appending fails
// when the entry cannot be written, and callers must then refuse the
// action they were about to record (fail closed).
//
// Full-text search uses SQLite FTS5 over actor, action, target, outcome and
// details. The index is filled in batches after commits, so that indexing
// never slows an append; Search brings it up to date before it reads.
package auditlog
