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
		out.Write([]string{at, FormatNumber(v)})
	}
	out.Flush()
	return out.Error()
}

// FormatNumber prints v with at most 15 significant digits, which drops the
// noise of binary fractions in means (10.030000000000001 is 10.03).
func FormatNumber(v float64) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 15, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}
