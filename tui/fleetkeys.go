package tui

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/iotwatch/iotwatch/config"
)

// FleetKeyMap is the fleet screen's key bindings; it implements help.KeyMap.
// The [[control]] keys send to the selected thing, or to the marked ones
// after a y/n.
type FleetKeyMap struct {
	SharedKeys
	Close, PageUp, PageDown, Sort, Filter, Mark, Open key.Binding
}

// DefaultFleetKeyMap builds the bindings for the given controls.
func DefaultFleetKeyMap(controls []config.Control) FleetKeyMap {
	return FleetKeyMap{
		SharedKeys: defaultSharedKeys(controls),
		Close:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / unmark / clear filter")),
		PageUp:     key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:   key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Sort:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "cycle the order")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter by name")),
		Mark:       key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "mark/unmark")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the thing")),
	}
}

// own are the fleet screen's own bindings, which a [[control]] may not use.
func (k FleetKeyMap) own() []key.Binding {
	return []key.Binding{k.Quit, k.Help, k.Close, k.Up, k.Down, k.PageUp, k.PageDown, k.Sort, k.Filter, k.Mark, k.Get, k.Open}
}

func (k FleetKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Open, k.Mark, k.Sort, k.Filter, k.Help, k.Quit}
}

func (k FleetKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{k.Controls, {k.Open, k.Get, k.Mark}, {k.Up, k.Down, k.PageUp, k.PageDown}, {k.Sort, k.Filter}, {k.Help, k.Close, k.Quit}}
}
