package tui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/iotwatch/iotwatch/config"
)

// SharedKeys are the bindings the thing's screen and the fleet screen both
// have, made in one place.
type SharedKeys struct {
	Quit, Help, Up, Down, Get key.Binding
	Controls                  []key.Binding // from [[control]], in order
}

func defaultSharedKeys(controls []config.Control) SharedKeys {
	k := SharedKeys{
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Up:   key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down: key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Get:  key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "re-get shadow")),
	}
	for _, c := range controls {
		label := c.Label
		if label == "" {
			label = c.Action + " " + c.Field
		}
		k.Controls = append(k.Controls, key.NewBinding(key.WithKeys(c.Key), key.WithHelp(c.Key, label)))
	}
	return k
}

// KeyMap is the UI's key bindings; it implements help.KeyMap.
type KeyMap struct {
	SharedKeys
	Close, Window, Pause, Clear, Edit, ClearDesired, Soak, Export key.Binding
	Focus, Plot, Document, Topics                                 key.Binding
	Jobs                                                          JobsKeyMap  // J opens the jobs pane; the rest act in it
	TopicFilter, TopicDrop                                        key.Binding // in the raw-topics pane only
	LogOlder, LogNewer, LogFollow                                 key.Binding
	Demo                                                          []key.Binding // demo fault keys, when given
}

// DefaultKeyMap builds the bindings for the given controls and demo keys.
func DefaultKeyMap(controls []config.Control, demo []DemoKey) KeyMap {
	k := KeyMap{
		SharedKeys:   defaultSharedKeys(controls),
		Close:        key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help or pane")),
		Window:       key.NewBinding(key.WithKeys("w", "1", "2", "3", "4", "5", "6"), key.WithHelp("w/1-6", "plot window")),
		Pause:        key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause plot")),
		Clear:        key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "clear plot")),
		Edit:         key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit desired JSON")),
		ClearDesired: key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "clear all desired (y/n)")),
		Focus:        key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "focus table/log")),
		Plot:         key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "plot/unplot row (3 max)")),
		Document:     key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "shadow document")),
		Topics:       key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "raw topics")),
		Jobs:         DefaultJobsKeyMap(),
		TopicFilter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "(in t) add a filter")),
		TopicDrop:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "(in t) drop the last")),
		Soak:         key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "soak statistics")),
		Export:       key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "export plot CSV")),
		LogOlder:     key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "older events")),
		LogNewer:     key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "newer events")),
		LogFollow:    key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "follow new events")),
	}
	for _, d := range demo {
		k.Demo = append(k.Demo, key.NewBinding(key.WithKeys(d.Key), key.WithHelp(d.Key, d.Help)))
	}
	return k
}

// global is every binding of the UI's own, in the order help lists them.
func (k KeyMap) global() []key.Binding {
	return []key.Binding{k.Get, k.Edit, k.ClearDesired, k.Window, k.Pause, k.Clear, k.Soak, k.Export,
		k.Focus, k.Up, k.Down, k.Plot, k.Document, k.Topics, k.Jobs.Toggle, k.LogOlder, k.LogNewer, k.LogFollow, k.Help, k.Close, k.Quit}
}

// CheckControls refuses a [[control]] bound to one of the UI's own keys (the
// single-thing screen's, the fleet screen's or a demo key): such a key would
// do two things at once.
func CheckControls(controls []config.Control, demo []DemoKey) error {
	k := DefaultKeyMap(nil, demo)
	var own []string
	for _, b := range append(append(k.global(), k.Demo...), DefaultFleetKeyMap(nil).own()...) {
		for _, key := range b.Keys() {
			if !slices.Contains(own, key) {
				own = append(own, key)
			}
		}
	}
	for i, c := range controls {
		if slices.Contains(own, c.Key) {
			return fmt.Errorf("[[control]] #%d (key %q): %q is one of iotwatch's own keys (%s): choose another",
				i+1, c.Key, c.Key, strings.Join(own, " "))
		}
	}
	return nil
}

// setLinkUp enables the desired-state keys only while the link is up, so
// they drop out of the help when they cannot work.
func (k *KeyMap) setLinkUp(up bool) {
	for i := range k.Controls {
		k.Controls[i].SetEnabled(up)
	}
	k.Edit.SetEnabled(up)
	k.ClearDesired.SetEnabled(up)
	k.Get.SetEnabled(up)
}

// needsLink are the bindings that send to the shadow, enabled only while
// the link is up.
func (k KeyMap) needsLink() []key.Binding {
	return append([]key.Binding{k.Get, k.Edit, k.ClearDesired}, k.Controls...)
}

// pressed is whether msg is one of b's keys, enabled or not.
func pressed(msg tea.KeyMsg, b key.Binding) bool { return slices.Contains(b.Keys(), msg.String()) }

func (k KeyMap) ShortHelp() []key.Binding {
	return append(append([]key.Binding{}, k.Controls...), k.Help, k.Quit)
}

func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.Controls, {k.Get, k.Edit, k.ClearDesired}, {k.Window, k.Pause, k.Clear, k.Export},
		{k.Focus, k.Up, k.Down, k.Plot}, {k.Document, k.Topics, k.TopicFilter, k.TopicDrop, k.Jobs.Toggle, k.Jobs.Refresh, k.Soak}, {k.LogOlder, k.LogNewer, k.LogFollow}, k.Demo, {k.Help, k.Close, k.Quit}}
}
