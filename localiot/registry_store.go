package localiot

import (
	bolt "go.etcd.io/bbolt"
)

// kv is where the registry keeps its records: bbolt buckets beside the
// shadows, or memory when serve runs without --data.
type kv interface {
	// Apply writes (or, for a nil value, deletes) every op in one
	// transaction, durable when it returns.
	Apply(ops []kvOp) error
	// Load calls fn for every record of bucket.
	Load(bucket string, fn func(key string, value []byte) error) error
}

type kvOp struct {
	bucket, key string
	value       []byte // nil deletes
}

func (b *boltStore) Apply(ops []kvOp) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		for _, op := range ops {
			bk, err := tx.CreateBucketIfNotExists([]byte(op.bucket))
			if err != nil {
				return err
			}
			if op.value == nil {
				err = bk.Delete([]byte(op.key))
			} else {
				err = bk.Put([]byte(op.key), op.value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (b *boltStore) Load(bucket string, fn func(string, []byte) error) error {
	return b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, v []byte) error { return fn(string(k), v) })
	})
}

// memKV keeps nothing: the registry's own maps are the only copy.
type memKV struct{}

func (*memKV) Apply([]kvOp) error                            { return nil }
func (*memKV) Load(string, func(string, []byte) error) error { return nil }

// kvOf returns the store's kv: its bbolt file, or nothing to persist.
func kvOf(s store) kv {
	if k, ok := s.(kv); ok {
		return k
	}
	return &memKV{}
}
