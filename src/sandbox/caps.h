/* caps.h: dropping every capability (libcap). Sandbox init only. */
#ifndef MOAT_CAPS_H
#define MOAT_CAPS_H

/* Empties the bounding, ambient, inheritable, permitted and effective sets
 * and locks the securebits so uid 0 regains nothing on exec. -1 with errno
 * set and *what naming the step on failure. */
int	caps_drop_all(const char **what);

#endif
