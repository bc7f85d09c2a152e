package completeness

import (
	"errors"
	"strings"
)

// This is a small, private codice fiscale check (format and check
// character); it may later be replaced by the shared codicefiscale package.

// ValidCodiceFiscale checks an Italian codice fiscale: either the 16-character
// code of a natural person (with omocodia substitutions allowed in the digit
// positions, month letter, day 1-31 or 41-71 and the check character), or an
// 11-digit temporary code / partita IVA with its check digit. Spaces and
// lower case are tolerated.
func ValidCodiceFiscale(s string) error {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	switch {
	case len(s) == 11 && allDigits(s):
		if !validPartitaIVA(s) {
			return errors.New("cifra di controllo errata")
		}
		return nil
	case len(s) == 11:
		return errors.New("un codice fiscale di 11 caratteri deve essere di sole cifre")
	case len(s) != 16:
		return errors.New("deve essere di 16 caratteri (11 cifre se provvisorio)")
	}
	for i := 0; i < 16; i++ {
		c := s[i]
		switch {
		case i < 6 || i == 8 || i == 11 || i == 15:
			if !isLetter(c) {
				return errors.New("formato non valido")
			}
		default: // digit positions: 6-7 year, 9-10 day, 12-14 town code
			if !isDigit(c) && strings.IndexByte(omocodia, c) < 0 {
				return errors.New("formato non valido")
			}
		}
	}
	if strings.IndexByte("ABCDEHLMPRST", s[8]) < 0 {
		return errors.New("la lettera del mese di nascita non è valida")
	}
	day := decodeOmocodia(s[9])*10 + decodeOmocodia(s[10])
	if day < 1 || day > 31 && day < 41 || day > 71 {
		return errors.New("il giorno di nascita non è valido")
	}
	if cfCheckChar(s[:15]) != s[15] {
		return errors.New("carattere di controllo errato")
	}
	return nil
}

// omocodia lists the letters that replace the digits 0-9 in omocodic codes.
const omocodia = "LMNPQRSTUV"

func decodeOmocodia(c byte) int {
	if isDigit(c) {
		return int(c - '0')
	}
	return strings.IndexByte(omocodia, c)
}

// cfOdd is the value of each character (0-9 then A-Z) in odd positions
// (1st, 3rd, ...); in even positions digits are worth 0-9 and letters 0-25.
var cfOdd = [36]int{
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
	1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // A-J
	2, 4, 18, 20, 11, 3, 6, 8, 12, 14, // K-T
	16, 10, 22, 25, 24, 23, // U-Z
}

// cfCheckChar computes the check character of the first 15 characters.
func cfCheckChar(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		idx, val := 0, 0
		if isDigit(c) {
			idx, val = int(c-'0'), int(c-'0')
		} else {
			idx, val = 10+int(c-'A'), int(c-'A')
		}
		if i%2 == 0 { // 1st, 3rd, ... character
			sum += cfOdd[idx]
		} else {
			sum += val
		}
	}
	return byte('A' + sum%26)
}

// validPartitaIVA checks the Luhn-style check digit of an 11-digit code.
func validPartitaIVA(s string) bool {
	sum := 0
	for i := 0; i < 10; i++ {
		d := int(s[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[10]-'0')
}
