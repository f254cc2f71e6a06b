/* tlsf.c - under construction in this change. */
#include "mp_internal.h"
