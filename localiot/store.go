package localiot

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/iotwatch/iotwatch/shadow"
)

// store keeps shadows by key (thing + "\x00" + shadow name). Callers
// serialize access per key.
type store interface {
	Get(key string) (shadow.Shadow, error)
	Put(key string, s shadow.Shadow) error
	Close() error
}

func shadowKey(thing, name string) string { return thing + "\x00" + name }

func openStore(dataDir string) (store, error) {
	if dataDir == "" {
		return &memStore{m: map[string]shadow.Shadow{}}, nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	path := filepath.Join(dataDir, "shadows.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2e9})
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w (is another iotwatch serve using this --data directory?)", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return &boltStore{db: db}, nil
}

var bucket = []byte("shadows")

type boltStore struct{ db *bolt.DB }

func (b *boltStore) Get(key string) (shadow.Shadow, error) {
	var s shadow.Shadow
	err := b.db.View(func(tx *bolt.Tx) error {
		data := tx.Bucket(bucket).Get([]byte(key))
		if data == nil {
			return nil
		}
		var err error
		s, err = shadow.Decode(data)
		return err
	})
	return s, err
}

func (b *boltStore) Put(key string, s shadow.Shadow) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte(key), data)
	})
}

func (b *boltStore) Close() error { return b.db.Close() }

type memStore struct {
	mu sync.Mutex
	m  map[string]shadow.Shadow
}

func (m *memStore) Get(key string) (shadow.Shadow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[key], nil
}

func (m *memStore) Put(key string, s shadow.Shadow) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[key] = s
	return nil
}

func (m *memStore) Close() error { return nil }
