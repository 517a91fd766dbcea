package awsconn

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// copyingStore is paho's memory store handing out copies of stored PUBLISH
// packets. After a reconnect paho v1.5.1 sets Dup on the stored packet while
// its new outgoing worker may be writing that same packet, queued before
// the link dropped (eclipse-paho/paho.mqtt.golang#703): a data race. On a
// copy, the resend is marked Dup and the queued original is left alone.
type copyingStore struct{ *paho.MemoryStore }

func newCopyingStore() copyingStore { return copyingStore{paho.NewMemoryStore()} }

func (s copyingStore) Get(key string) packets.ControlPacket {
	stored := s.MemoryStore.Get(key)
	if pub, ok := stored.(*packets.PublishPacket); ok {
		dup := *pub
		return &dup
	}
	return stored
}
