package awsconn

import (
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

func TestCopyingStoreHandsOutCopiesOfPublishes(t *testing.T) {
	s := newCopyingStore()
	s.Open()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.Qos, pub.MessageID, pub.TopicName, pub.Payload = 1, 7, "$aws/things/t/shadow/get", []byte("{}")
	s.Put("o.7", pub)
	got, ok := s.Get("o.7").(*packets.PublishPacket)
	if !ok || got == pub {
		t.Fatalf("Get returned the stored packet itself (%p) or not a publish", got)
	}
	got.Dup = true
	if pub.Dup || got.MessageID != 7 || got.TopicName != pub.TopicName || string(got.Payload) != "{}" {
		t.Fatalf("copy %+v, original %+v", got, pub)
	}
	sub := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sub.MessageID = 8
	s.Put("o.8", sub)
	if s.Get("o.8") != sub {
		t.Fatal("other packets should come back as stored")
	}
}
