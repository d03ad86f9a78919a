/* Stand-in (see ../../README.md): gcc's own <stddef.h> includes <machine/ansi.h> once it sees
 * __NetBSD__ and declares size_t, ptrdiff_t and wchar_t only where it names them, as NetBSD's
 * header does. No include guard: gcc's header undefines these names after each use. */
#define _BSD_SIZE_T_ __SIZE_TYPE__
#define _BSD_PTRDIFF_T_ __PTRDIFF_TYPE__
#define _BSD_WCHAR_T_ __WCHAR_TYPE__
