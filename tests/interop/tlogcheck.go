// tlogcheck verifies a khronika log served in the C2SP tlog-tiles form with
// Go's own implementation (golang.org/x/mod/sumdb/note and sumdb/tlog), an
// outside client: the checkpoint's signature, the root from the hash tiles,
// every entry against its leaf hash, and an inclusion proof of each entry.
//
//	go run tlogcheck.go BASE-URL VERIFIER-KEY
//
// It prints "ok SIZE ROOT" and exits 0, or prints the problem and exits 1.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type tiles struct{ base string }

func (t tiles) Height() int { return 8 }

// ReadTiles maps Go's sumdb paths (tile/H/L/N) to tlog-tiles ones (tile/L/N).
func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, tile := range ts {
		parts := strings.SplitN(tile.Path(), "/", 3) // tile, 8, L/N...
		data, err := get(t.base + "/tile/" + parts[2])
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func fail(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
	os.Exit(1)
}

func main() {
	base, key := os.Args[1], os.Args[2]
	text, err := get(base + "/checkpoint")
	if err != nil {
		fail("%v", err)
	}
	verifier, err := note.NewVerifier(key)
	if err != nil {
		fail("verifier key: %v", err)
	}
	n, err := note.Open(text, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != 32 {
		fail("checkpoint root: %v", err)
	}
	var root tlog.Hash
	copy(root[:], raw)
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles{base})
	got, err := tlog.TreeHash(size, reader)
	if err != nil || got != root {
		fail("root from the tiles: %v %v", got, err)
	}
	for start := int64(0); start < size; start += 256 {
		width := size - start
		path := fmt.Sprintf("%s/tile/entries/%s", base, bundle(start/256, width))
		data, err := get(path)
		if err != nil {
			fail("%v", err)
		}
		for i := start; len(data) > 0; i++ {
			length := int(binary.BigEndian.Uint16(data))
			entry := data[2 : 2+length]
			data = data[2+length:]
			leaf := tlog.RecordHash(entry)
			stored, err := reader.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
			if err != nil || stored[0] != leaf {
				fail("entry %d does not hash to its leaf: %v", i, err)
			}
			proof, err := tlog.ProveRecord(size, i, reader)
			if err != nil {
				fail("proof of %d: %v", i, err)
			}
			if err := tlog.CheckRecord(proof, size, root, i, leaf); err != nil {
				fail("inclusion of %d: %v", i, err)
			}
		}
	}
	fmt.Printf("ok %d %s\n", size, lines[2])
}

// bundle is an entry bundle's path: a full one, or the partial one at the end.
func bundle(n int64, width int64) string {
	path := tlog.Tile{H: 8, L: 0, N: n, W: 256}.Path()
	if width < 256 {
		path = tlog.Tile{H: 8, L: 0, N: n, W: int(width)}.Path()
	}
	return strings.SplitN(path, "/", 4)[3] // the N[.p/W] part
}
