package monitor

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"
)

// FormatNumber prints v with at most 15 significant digits, which drops the
// noise of binary fractions in means (10.030000000000001 is 10.03).
func FormatNumber(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// WriteReportsCSV writes field's reports over the window ending at end as
// they came, each once: a row per bucket of the finest history that holds
// the window (1 s for an hour, then 10 s, 1 min; Options.Coarse's for a
// fleet), at its start. A bucket holds one report at up to one report a
// second over an hour; one holding several gives their mean.
func (m *Monitor) WriteReportsCSV(w io.Writer, field string, window time.Duration, end time.Time) error {
	out := csv.NewWriter(w)
	out.Write([]string{"time", field})
	if h, ok := m.history[field]; ok {
		h.levelFor(window).each(end.Add(-window), end, func(at time.Time, b bucket) {
			out.Write([]string{at.UTC().Format(time.RFC3339), FormatNumber(b.sum / float64(b.n))})
		})
	}
	out.Flush()
	return out.Error()
}
