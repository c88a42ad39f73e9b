package luatest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report writes results as `peacepie test` prints them: one line a test,
// a failure's text indented under it, and a closing "N passed, N failed"
// line; with asJSON, one JSON document {"results", "passed", "failed"}.
// It returns the number of failures.
func Report(w io.Writer, results []Result, asJSON bool) (failed int, err error) {
	passed := 0
	for _, r := range results {
		if r.Passed {
			passed++
		} else {
			failed++
		}
	}
	if asJSON {
		if results == nil {
			results = []Result{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return failed, enc.Encode(struct {
			Results []Result `json:"results"`
			Passed  int      `json:"passed"`
			Failed  int      `json:"failed"`
		}{results, passed, failed})
	}
	for _, r := range results {
		mark := "ok  "
		if !r.Passed {
			mark = "FAIL"
		}
		if _, err := fmt.Fprintf(w, "%s %s %s: %s\n", mark, r.Package, r.File, r.Test); err != nil {
			return failed, err
		}
		if !r.Passed {
			for _, line := range strings.Split(strings.TrimRight(r.Failure, "\n"), "\n") {
				fmt.Fprintf(w, "       %s\n", line)
			}
		}
	}
	_, err = fmt.Fprintf(w, "%d passed, %d failed\n", passed, failed)
	return failed, err
}
