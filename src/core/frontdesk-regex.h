#ifndef FRONTDESK_REGEX_H
#define FRONTDESK_REGEX_H

/* Bounds on what an admin's POSIX extended regex may ask of regcomp().
   glibc expands repetitions by copying the repeated part ("a+" is "aa*",
   "a{5}" five copies), so the compiled size is the product of nested
   repetition counts: "[0-9]++++++++++++++++++++{5,}" took 2.7 GB and 12 s.
   The bounds leave room for any pattern a rule needs
   (e.g. "\<ordine (n |nr |numero )?[0-9]{5,}\>"). */
/* Bytes of pattern: a rule's regex is a short phrase, not a program. */
#define FRONTDESK_REGEX_MAX_LEN 256
/* Repetitions of repetitions: "(x[0-9]+ )+" is 2. */
#define FRONTDESK_REGEX_MAX_DEPTH 3
/* The m and n of "{m,n}" (POSIX guarantees at least 255). */
#define FRONTDESK_REGEX_MAX_COUNT 255
/* Elements after expanding every repetition: (a{10}){100} is about 1000,
   which glibc compiles in well under a megabyte. */
#define FRONTDESK_REGEX_MAX_SIZE 1000

/* Check regex (POSIX extended syntax) against the bounds above before it is
   given to regcomp(). Returns 0, or -1 with error_r saying which bound it
   passes. Syntax errors are left to regcomp(). */
int frontdesk_regex_check(const char *regex, const char **error_r);

#endif
