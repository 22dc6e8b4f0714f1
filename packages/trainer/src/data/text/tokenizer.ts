/**
 * Words are letters with their combining marks, numbers are runs of decimal digits, and any
 * other visible character stands alone. Splitting punctuation off ("world!!" → world ! !) keeps
 * the vocabulary from filling with every word-plus-punctuation variant, which whitespace-only
 * splitting (fastText's) does; keeping each mark as its own token keeps what "!!" or "?" say.
 *
 * `_` is punctuation here, so `__label__x` can never come out as one token: labels are taken
 * off a line by the reader before the text reaches the tokenizer, and a stray one in the text
 * cannot pose as a label.
 */
const TOKEN = /\p{L}[\p{L}\p{M}]*|\p{Nd}+|[^\s\p{Cc}\p{Cf}]/gu;

/**
 * Lowercased tokens of `text`, normalised to NFC so "é" typed as one code point or as e + U+0301
 * gives the same token. Control and format characters (U+200B zero-width space, soft hyphen,
 * stray C0 controls) separate like whitespace rather than becoming invisible tokens.
 */
export function tokenize(text: string): string[] {
  return text.toLowerCase().normalize('NFC').match(TOKEN) ?? [];
}
