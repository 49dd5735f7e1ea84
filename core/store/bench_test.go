package store

import (
	"context"
	"testing"
)

// BenchmarkWrite measures one single-row INSERT per Write: one BEGIN
// IMMEDIATE / COMMIT with synchronous=FULL, i.e. one WAL fsync per op.
func BenchmarkWrite(b *testing.B) {
	s := newTestStore(b)
	execWrite(b, s, `CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		err := s.Write(ctx, func(ctx context.Context, tx Queryer) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO events (body) VALUES (?)`, "benchmark event")
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead measures one primary-key lookup per Read, from parallel
// goroutines sharing the reader pool.
func BenchmarkRead(b *testing.B) {
	s := newTestStore(b)
	execWrite(b, s, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	mustWrite(b, s, func(ctx context.Context, tx Queryer) error {
		for i := range 1000 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, i, "value"); err != nil {
				return err
			}
		}
		return nil
	})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			var v string
			err := s.Read(ctx, func(ctx context.Context, q Queryer) error {
				return q.QueryRowContext(ctx, `SELECT v FROM kv WHERE k = ?`, i%1000).Scan(&v)
			})
			if err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
