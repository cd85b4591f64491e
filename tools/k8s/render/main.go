// Command render builds a kustomization with the real kustomize library (krusty, the engine
// behind `kubectl kustomize`) and prints the resulting resources as one JSON array, so the
// manifest tests can check them without a YAML parser or a cluster.
//
// Usage: go run . <kustomization dir>
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: render <kustomization dir>")
		os.Exit(2)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "kustomize build %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out := make([]map[string]interface{}, 0, resources.Size())
	for _, r := range resources.Resources() {
		m, err := r.Map()
		if err != nil {
			fmt.Fprintf(os.Stderr, "resource %s: %v\n", r.CurId(), err)
			os.Exit(1)
		}
		out = append(out, m)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
