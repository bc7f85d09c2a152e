// Package demo provides the demonstration data of the fictional "Comune di
// Valfiorita" (province BS, cadastral code M999, IPA and AOO code c_m999):
// its offices, queue services and procedures catalog.
package demo

import (
	"bytes"
	_ "embed"
	"fmt"

	"sportello/internal/catalog"
)

//go:embed catalog.json
var catalogJSON []byte

// CatalogJSON returns a copy of the embedded catalog file, in the canonical
// form written by catalog.Encode.
func CatalogJSON() []byte {
	return bytes.Clone(catalogJSON)
}

// Catalog returns the demo catalog, freshly decoded at each call so that
// callers may modify it. The embedded file is checked by the package tests;
// Catalog panics if it does not decode.
func Catalog() *catalog.Catalog {
	c, err := catalog.Decode(bytes.NewReader(catalogJSON))
	if err != nil {
		panic(fmt.Sprintf("demo: catalogo incorporato non valido: %v", err))
	}
	return c
}
