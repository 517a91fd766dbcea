package tui

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"
)

// Run runs a screen (one thing's or the fleet's) in the terminal until the
// user quits or ctx ends, and returns its final model.
//
// Frames go to the terminal as they change, written by a screen of its
// own: Bubble Tea v1's renderer wakes on a ticker (60 times a second by
// default) to look for a new frame, which was most of an idle watch's CPU
// (bench/idle.sh); a lower rate delays every key's echo. So Bubble Tea runs
// without its renderer, and Run does what that renderer did for us: raw
// input, the alternate screen, the cursor hidden, bracketed paste, the
// terminal's size.
// Output that is not a terminal gets Bubble Tea's own renderer.
func Run(ctx context.Context, m tea.Model) (tea.Model, error) {
	in, out := os.Stdin, os.Stdout
	if !term.IsTerminal(in.Fd()) || !term.IsTerminal(out.Fd()) {
		return tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx)).Run()
	}
	saved, err := term.MakeRaw(in.Fd())
	if err != nil {
		return m, fmt.Errorf("terminal: %w", err)
	}
	defer term.Restore(in.Fd(), saved)
	s := openScreen(out)
	defer s.close()
	s.show(m.View())
	p := tea.NewProgram(framed{m, s}, tea.WithoutRenderer(), tea.WithContext(ctx), tea.WithInput(in))
	sized := make(chan struct{})
	defer close(sized)
	go sendSizes(p, out, sized)
	final, err := p.Run()
	if f, ok := final.(framed); ok {
		final = f.m
	}
	return final, err
}

// sendSizes sends the terminal's size now and at each SIGWINCH until done.
func sendSizes(p *tea.Program, out *os.File, done <-chan struct{}) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	for {
		if w, h, err := term.GetSize(out.Fd()); err == nil {
			p.Send(tea.WindowSizeMsg{Width: w, Height: h})
		}
		select {
		case <-winch:
		case <-done:
			return
		}
	}
}

// framed is a screen's model whose frames a screen writes.
type framed struct {
	m tea.Model
	s *screen
}

func (f framed) Init() tea.Cmd { return f.m.Init() }

func (f framed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(tea.WindowSizeMsg); ok {
		f.s.repaint()
	}
	next, cmd := f.m.Update(msg)
	f.m = next
	f.s.show(next.View())
	return f, cmd
}

func (f framed) View() string { return "" }

// Terminal sequences the screen writes: the alternate screen, the cursor
// hidden and bracketed paste on (a pasted document arrives as one paste,
// as with Bubble Tea's renderer), and off again.
const (
	enterAltScreen = "\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[2J"
	leaveAltScreen = "\x1b[?2004l\x1b[?25h\x1b[?1049l"
	clearScreen    = "\x1b[2J"
	eraseLineRight = "\x1b[K"
)

// screen writes frames on a goroutine of its own, woken only by a new
// frame: the lines that changed since the last one, in one write. Frames
// that come faster than they are written are skipped to the latest.
type screen struct {
	out      io.Writer
	wake     chan struct{}
	finished chan struct{}
	mu       sync.Mutex
	next     string // the latest frame
	shown    string // the latest frame handed to the writer
	fresh    bool   // the screen is to be cleared and drawn whole
	closing  bool
	last     []string // the lines on the terminal
}

func openScreen(out io.Writer) *screen {
	s := &screen{out: out, wake: make(chan struct{}, 1), finished: make(chan struct{})}
	io.WriteString(out, enterAltScreen)
	go s.loop()
	return s
}

// show hands a frame to the writer; the same frame again costs nothing.
func (s *screen) show(frame string) {
	s.mu.Lock()
	if frame == s.shown && !s.fresh {
		s.mu.Unlock()
		return
	}
	s.next, s.shown = frame, frame
	s.mu.Unlock()
	s.poke()
}

// repaint draws the next frame whole (the terminal was resized).
func (s *screen) repaint() {
	s.mu.Lock()
	s.fresh = true
	s.mu.Unlock()
}

func (s *screen) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // the writer is woken already and takes the latest frame
	}
}

func (s *screen) loop() {
	defer close(s.finished)
	for range s.wake {
		s.mu.Lock()
		frame, fresh, closing := s.next, s.fresh, s.closing
		s.fresh = false
		s.mu.Unlock()
		if closing {
			return
		}
		if fresh {
			s.last = nil
		}
		if b := s.changes(frame, fresh); b != "" {
			io.WriteString(s.out, b)
		}
	}
}

// changes are the sequences that turn the lines on the terminal into
// frame's: each changed line written at its row and erased to its end,
// rows no longer used erased.
func (s *screen) changes(frame string, fresh bool) string {
	var b strings.Builder
	if fresh {
		b.WriteString(clearScreen)
	}
	lines := strings.Split(frame, "\n")
	for i, l := range lines {
		if i < len(s.last) && s.last[i] == l {
			continue
		}
		fmt.Fprintf(&b, "\x1b[%d;1H%s%s", i+1, l, eraseLineRight)
	}
	for i := len(lines); i < len(s.last); i++ {
		fmt.Fprintf(&b, "\x1b[%d;1H%s", i+1, eraseLineRight)
	}
	s.last = lines
	return b.String()
}

// close stops the writer and leaves the alternate screen.
func (s *screen) close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.poke()
	<-s.finished
	io.WriteString(s.out, leaveAltScreen)
}
