/*
 * pmmctl-out.c -- how names and keys are written: escaped for a terminal
 * in the text forms, and as valid JSON strings (whatever bytes a block
 * name holds) in the --json forms.
 */
#include <string.h>

#include "pmmctl.h"

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0:
 * JSON output must be UTF-8, and names are arbitrary bytes. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	/* the second byte's range excludes overlongs and surrogates */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Write n bytes as a JSON string; bytes that are not UTF-8 become
 * \u00XX (their Latin-1 reading), so the output always parses. */
void
ctl_out_json_str(FILE *f, const void *s, size_t n)
{
	const unsigned char *p = s;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char ch = p[i];
		size_t l = utf8_len(p + i, n - i);
		if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
		} else if (ch == '\n') {
			fputs("\\n", f);
		} else if (ch == '\t') {
			fputs("\\t", f);
		} else if (ch < 0x20 || ch == 0x7f || l == 0) {
			fprintf(f, "\\u%04x", ch);
		} else {
			fwrite(p + i, 1, l, f);
			i += l;
			continue;
		}
		i++;
	}
	fputc('"', f);
}

/* Write bytes as a JSON string of lowercase hex digits. */
void
ctl_out_json_hex(FILE *f, const uint8_t *p, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('"', f);
}

/* Write a block name for a terminal: control bytes, backslashes and
 * bytes that are not UTF-8 as escapes, so nothing can hide in a name. */
void
ctl_out_text_name(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (p[i] == '\\') {
			fputs("\\\\", f);
		} else if (p[i] < 0x20 || p[i] == 0x7f || l == 0) {
			fprintf(f, "\\x%02x", p[i]);
		} else {
			fwrite(p + i, 1, l, f);
			i += l;
			continue;
		}
		i++;
	}
}

/* Whether a key reads as text: printable ASCII, with at most the one
 * terminating NUL that keys passed with sizeof carry. */
int
ctl_out_key_is_text(const uint8_t *key, uint32_t ks)
{
	if (ks == 0)
		return 0;
	for (uint32_t i = 0; i < ks; i++) {
		if (i == ks - 1 && key[i] == 0)
			break;
		if (key[i] < 0x20 || key[i] > 0x7e)
			return 0;
	}
	return 1;
}

/* Write a key for a terminal: "text\0" in quotes, binary keys as 0x
 * hex, no key as "-"; the quotes keep a text key from looking like hex. */
void
ctl_out_text_key(FILE *f, const uint8_t *key, uint32_t ks)
{
	if (ks == 0) {
		fputc('-', f);
		return;
	}
	if (!ctl_out_key_is_text(key, ks)) {
		fputs("0x", f);
		for (uint32_t i = 0; i < ks; i++)
			fprintf(f, "%02x", key[i]);
		return;
	}
	fputc('"', f);
	for (uint32_t i = 0; i < ks; i++) {
		if (key[i] == 0)
			fputs("\\0", f);
		else if (key[i] == '"' || key[i] == '\\')
			fprintf(f, "\\%c", key[i]);
		else
			fputc(key[i], f);
	}
	fputc('"', f);
}

/* Whether a key is reserved for the system (the library's rule). */
int
ctl_out_key_is_system(const uint8_t *key, uint32_t ks)
{
	return ks >= sizeof(PMM__SYS_PREFIX) - 1 &&
		memcmp(key, PMM__SYS_PREFIX, sizeof(PMM__SYS_PREFIX) - 1) == 0;
}
