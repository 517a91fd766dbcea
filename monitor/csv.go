package monitor

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
	"time"
)

// WriteCSV writes a series as time,field rows (RFC 3339 UTC), one per point
// that has a value, starting at start and step apart.
func WriteCSV(w io.Writer, field string, series []float64, start time.Time, step time.Duration) error {
	out := csv.NewWriter(w)
	out.Write([]string{"time", field})
	for i, v := range series {
		if math.IsNaN(v) {
			continue
		}
		at := start.Add(time.Duration(i) * step).UTC().Format(time.RFC3339)
		out.Write([]string{at, strconv.FormatFloat(v, 'f', -1, 64)})
	}
	out.Flush()
	return out.Error()
}
