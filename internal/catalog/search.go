package catalog

import (
	"slices"
	"strings"
	"unicode"
)

// Weights of the places a query word can match; a word counts once, with the
// best place it matches.
const (
	weightName     = 8
	weightCategory = 4
	weightKeyword  = 3
	weightSummary  = 1
)

// stopWords are Italian articles, prepositions and conjunctions dropped from
// queries ("cambio di residenza" searches "cambio residenza"), unless the
// query is made of them only.
var stopWords = map[string]bool{
	"a": true, "ad": true, "al": true, "allo": true, "alla": true, "ai": true, "agli": true, "alle": true,
	"da": true, "dal": true, "dallo": true, "dalla": true, "dai": true, "dagli": true, "dalle": true,
	"di": true, "del": true, "dello": true, "della": true, "dei": true, "degli": true, "delle": true, "d": true,
	"in": true, "nel": true, "nello": true, "nella": true, "nei": true, "negli": true, "nelle": true,
	"su": true, "sul": true, "sullo": true, "sulla": true, "sui": true, "sugli": true, "sulle": true,
	"il": true, "lo": true, "la": true, "i": true, "gli": true, "le": true, "l": true,
	"un": true, "uno": true, "una": true, "e": true, "ed": true, "o": true, "con": true,
	"per": true, "tra": true, "fra": true, "che": true,
}

// Search finds the active procedures matching query. Matching is by word,
// ignoring case and accents: every query word (Italian articles and
// prepositions aside) must be the beginning of some word of the procedure's
// name, keywords, category or knowledge summary. Results are ranked: more
// query words found in the name first, then by where the words matched
// (name, category, keywords, summary, in decreasing weight), then by catalog
// order. A blank query
// returns every active procedure in catalog order.
func (c *Catalog) Search(query string) []Procedure {
	words := queryWords(query)
	if len(words) == 0 {
		var all []Procedure
		for _, p := range c.Procedures {
			if p.Active {
				all = append(all, p)
			}
		}
		return all
	}
	type hit struct {
		p         Procedure
		inName    int
		score     int
		exactName int
		order     int
	}
	var hits []hit
	for i, p := range c.Procedures {
		if !p.Active {
			continue
		}
		name := tokenize(p.Name)
		var keywords []string
		for _, k := range p.Keywords {
			keywords = append(keywords, tokenize(k)...)
		}
		category := tokenize(p.Category)
		summary := tokenize(p.Knowledge.Summary)
		h := hit{p: p, order: i}
		matched := true
		for _, w := range words {
			switch {
			case hasPrefix(name, w):
				h.inName++
				h.score += weightName
				if slices.Contains(name, w) {
					h.exactName++
				}
			case hasPrefix(category, w):
				h.score += weightCategory
			case hasPrefix(keywords, w):
				h.score += weightKeyword
			case hasPrefix(summary, w):
				h.score += weightSummary
			default:
				matched = false
			}
			if !matched {
				break
			}
		}
		if matched {
			hits = append(hits, h)
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		switch {
		case a.inName != b.inName:
			return b.inName - a.inName
		case a.score != b.score:
			return b.score - a.score
		case a.exactName != b.exactName:
			return b.exactName - a.exactName
		}
		return a.order - b.order
	})
	out := make([]Procedure, len(hits))
	for i, h := range hits {
		out[i] = h.p
	}
	return out
}

func hasPrefix(tokens []string, w string) bool {
	for _, t := range tokens {
		if strings.HasPrefix(t, w) {
			return true
		}
	}
	return false
}

// queryWords tokenizes the query, dropping stop words unless nothing else
// would be left, and duplicates.
func queryWords(query string) []string {
	all := tokenize(query)
	var words []string
	for _, w := range all {
		if !stopWords[w] && !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		for _, w := range all {
			if !slices.Contains(words, w) {
				words = append(words, w)
			}
		}
	}
	return words
}

// tokenize splits s into lower-case words without accents; anything but a
// letter or digit separates words ("d'identità" gives "d" and "identita").
func tokenize(s string) []string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(fold(r))
	}
	return strings.FieldsFunc(b.String(), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// fold lower-cases r and removes the accents of Latin letters.
func fold(r rune) rune {
	r = unicode.ToLower(r)
	switch r {
	case 'à', 'á', 'â', 'ä', 'ã', 'å', 'ā':
		return 'a'
	case 'è', 'é', 'ê', 'ë', 'ē':
		return 'e'
	case 'ì', 'í', 'î', 'ï', 'ī':
		return 'i'
	case 'ò', 'ó', 'ô', 'ö', 'õ', 'ō':
		return 'o'
	case 'ù', 'ú', 'û', 'ü', 'ū':
		return 'u'
	case 'ç':
		return 'c'
	case 'ñ':
		return 'n'
	case 'ý', 'ÿ':
		return 'y'
	case 'š':
		return 's'
	case 'ž':
		return 'z'
	case 'č', 'ć':
		return 'c'
	}
	return r
}
