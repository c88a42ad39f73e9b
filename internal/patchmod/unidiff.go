package main

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A filePatch is the change a patch makes to one file.
type filePatch struct {
	oldPath string // "" when the patch creates the file
	newPath string // "" when the patch deletes the file
	hunks   []hunk
}

// A hunk replaces old lines with new ones near oldStart (1-based). Lines
// keep their "\n", except a last line that has none.
type hunk struct {
	header   string // the @@ line, for errors
	oldStart int
	old, new []string
}

// errBadPatch is wrapped by every error about a patch file's syntax.
var errBadPatch = errors.New("malformed patch")

// parsePatch reads a unified diff, as `git diff` or `diff -u` write it.
// Text before the first "--- " line, and between files, is a header and
// is ignored: it is where a patch says what it does and why. Inside a
// hunk the line counts of its @@ line decide where it ends, so a changed
// line that starts with "--- " (a Lua comment) is not taken for a header.
func parsePatch(text []byte) ([]filePatch, error) {
	lines := splitLines(text)
	var files []filePatch
	for i := 0; i < len(lines); {
		if fp, ok := emptyGitFile(lines, i); ok {
			files = append(files, fp)
			i++
			continue
		}
		if !strings.HasPrefix(lines[i], "--- ") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "+++ ") {
			i++
			continue
		}
		fp := filePatch{oldPath: diffPath(lines[i][4:]), newPath: diffPath(lines[i+1][4:])}
		if fp.oldPath == "" && fp.newPath == "" {
			return nil, fmt.Errorf("%w: line %d: both sides are /dev/null", errBadPatch, i+1)
		}
		i += 2
		for i < len(lines) && strings.HasPrefix(lines[i], "@@ ") {
			h, next, err := parseHunk(lines, i)
			if err != nil {
				return nil, err
			}
			if n := len(fp.hunks); n > 0 && h.oldStart < fp.hunks[n-1].oldStart+len(fp.hunks[n-1].old) {
				return nil, fmt.Errorf("%w: %s: %s starts inside the hunk before it (is a hunk short of its lines?)", errBadPatch, fp.name(), h.header)
			}
			fp.hunks = append(fp.hunks, h)
			i = next
		}
		if len(fp.hunks) == 0 {
			return nil, fmt.Errorf("%w: line %d: %s has no hunks", errBadPatch, i, fp.name())
		}
		files = append(files, fp)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: no file changes in it", errBadPatch)
	}
	return files, nil
}

// parseHunk reads the hunk whose @@ line is lines[at] and returns it with
// the index of the line after it.
func parseHunk(lines []string, at int) (hunk, int, error) {
	h := hunk{header: strings.TrimRight(lines[at], "\n")}
	oldStart, oldCount, newCount, err := parseHunkHeader(h.header)
	if err != nil {
		return hunk{}, 0, fmt.Errorf("%w: line %d: %v", errBadPatch, at+1, err)
	}
	h.oldStart = oldStart
	i := at + 1
	var last *[]string // the side(s) the previous line went to, for "\ No newline"
	var lastBoth bool
	for len(h.old) < oldCount || len(h.new) < newCount {
		if i >= len(lines) {
			return hunk{}, 0, fmt.Errorf("%w: %s: the patch ends inside the hunk", errBadPatch, h.header)
		}
		line := lines[i]
		i++
		if line == "\n" || line == "" { // an empty context line, its space stripped by an editor
			line = " " + line
		}
		body := line[1:]
		switch line[0] {
		case ' ':
			h.old = append(h.old, body)
			h.new = append(h.new, body)
			last, lastBoth = &h.old, true
		case '-':
			h.old = append(h.old, body)
			last, lastBoth = &h.old, false
		case '+':
			h.new = append(h.new, body)
			last, lastBoth = &h.new, false
		case '\\':
			if last == nil {
				return hunk{}, 0, fmt.Errorf("%w: %s: %q before any line", errBadPatch, h.header, strings.TrimSpace(line))
			}
			trimLastNewline(*last)
			if lastBoth {
				trimLastNewline(h.new)
			}
		default:
			return hunk{}, 0, fmt.Errorf("%w: %s: line %d starts with %q, not ' ', '-' or '+'", errBadPatch, h.header, i, line[0])
		}
		if len(h.old) > oldCount || len(h.new) > newCount {
			return hunk{}, 0, fmt.Errorf("%w: %s: more lines than its header counts", errBadPatch, h.header)
		}
	}
	// A "\ No newline at end of file" may follow the hunk's last line.
	if i < len(lines) && strings.HasPrefix(lines[i], "\\") && last != nil {
		trimLastNewline(*last)
		if lastBoth {
			trimLastNewline(h.new)
		}
		i++
	}
	return h, i, nil
}

// parseHunkHeader reads "@@ -l,s +l,s @@ optional text".
func parseHunkHeader(header string) (oldStart, oldCount, newCount int, err error) {
	fields := strings.Fields(header)
	if len(fields) < 4 || fields[0] != "@@" || fields[3] != "@@" ||
		!strings.HasPrefix(fields[1], "-") || !strings.HasPrefix(fields[2], "+") {
		return 0, 0, 0, fmt.Errorf("bad hunk header %q", header)
	}
	oldStart, oldCount, err = parseRange(fields[1][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("hunk header %q: %w", header, err)
	}
	_, newCount, err = parseRange(fields[2][1:])
	if err != nil {
		return 0, 0, 0, fmt.Errorf("hunk header %q: %w", header, err)
	}
	return oldStart, oldCount, newCount, nil
}

func parseRange(s string) (start, count int, err error) {
	startText, countText, hasCount := strings.Cut(s, ",")
	if start, err = strconv.Atoi(startText); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad line number %q", startText)
	}
	count = 1
	if hasCount {
		if count, err = strconv.Atoi(countText); err != nil || count < 0 {
			return 0, 0, fmt.Errorf("bad line count %q", countText)
		}
	}
	return start, count, nil
}

// emptyGitFile recognises git's way of creating or deleting an empty
// file: a "diff --git a/X b/X" line, then "new file mode" or "deleted file
// mode", and no ---/+++ lines before the next file.
func emptyGitFile(lines []string, at int) (filePatch, bool) {
	if !strings.HasPrefix(lines[at], "diff --git ") {
		return filePatch{}, false
	}
	var created, deleted bool
	for _, l := range lines[at+1:] {
		switch {
		case strings.HasPrefix(l, "new file mode "):
			created = true
			continue
		case strings.HasPrefix(l, "deleted file mode "):
			deleted = true
			continue
		case strings.HasPrefix(l, "index "):
			continue
		}
		if !strings.HasPrefix(l, "diff --git ") {
			return filePatch{}, false // a ---/+++ pair follows, or something else
		}
		break
	}
	// "diff --git a/X b/X": the two names are the same, so X is the first half.
	names := strings.TrimRight(strings.TrimPrefix(lines[at], "diff --git "), "\n")
	half := (len(names) - 1) / 2
	if len(names)%2 == 0 || names[half] != ' ' {
		return filePatch{}, false
	}
	name := diffPath(names[:half])
	switch {
	case created && !deleted:
		return filePatch{newPath: name}, true
	case deleted && !created:
		return filePatch{oldPath: name}, true
	}
	return filePatch{}, false
}

// diffPath turns "a/table.go\t2024-01-01 ..." into "table.go", and
// "/dev/null" into "".
func diffPath(s string) string {
	s = strings.TrimRight(s, "\n")
	if tab := strings.IndexByte(s, '\t'); tab >= 0 {
		s = s[:tab]
	}
	if s == "/dev/null" {
		return ""
	}
	if strings.HasPrefix(s, `"`) { // git quotes names with unusual bytes, C-style
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	if _, rest, ok := strings.Cut(s, "/"); ok {
		return rest // strip the a/ or b/ prefix, as patch -p1 does
	}
	return s
}

func (fp filePatch) name() string {
	if fp.newPath != "" {
		return fp.newPath
	}
	return fp.oldPath
}

// apply returns content with the hunks applied. A hunk must match exactly;
// it may have moved (an upstream version added or removed lines above
// it), and then it is looked for at the nearest place after the previous
// hunk. offsets reports how far each hunk moved.
func (fp filePatch) apply(content []byte) (out []byte, offsets []int, err error) {
	lines := splitLines(content)
	var result []string
	done := 0  // lines of the original consumed so far
	shift := 0 // how far the previous hunk had moved
	for n, h := range fp.hunks {
		base := h.oldStart - 1 // where the old lines start in the original
		if len(h.old) == 0 {   // a pure insertion: "-l,0" means after line l
			base = h.oldStart
		}
		at := findLines(lines, h.old, base+shift, done)
		if at < 0 {
			return nil, nil, fmt.Errorf("%s: hunk %d (%s) does not apply: its lines are not in the file", fp.name(), n+1, h.header)
		}
		shift = at - base
		offsets = append(offsets, shift)
		result = append(result, lines[done:at]...)
		result = append(result, h.new...)
		done = at + len(h.old)
	}
	result = append(result, lines[done:]...)
	return []byte(strings.Join(result, "")), offsets, nil
}

// findLines returns where want occurs in lines at or after from, nearest
// to near, or -1.
func findLines(lines, want []string, near, from int) int {
	matches := func(at int) bool {
		if at < from || at+len(want) > len(lines) {
			return false
		}
		for i, l := range want {
			if lines[at+i] != l {
				return false
			}
		}
		return true
	}
	for d := 0; near-d >= from || near+d <= len(lines); d++ {
		if matches(near - d) {
			return near - d
		}
		if d > 0 && matches(near+d) {
			return near + d
		}
	}
	return -1
}

// splitLines splits after every "\n"; the last line may lack one.
func splitLines(b []byte) []string {
	var lines []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lines = append(lines, string(b))
			break
		}
		lines = append(lines, string(b[:i+1]))
		b = b[i+1:]
	}
	return lines
}

func trimLastNewline(lines []string) {
	if n := len(lines); n > 0 {
		lines[n-1] = strings.TrimSuffix(lines[n-1], "\n")
	}
}
