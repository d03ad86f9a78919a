/* Empty on purpose (see ../../README.md): gcc's own <stddef.h> includes <sys/_types.h> once it
 * sees __FreeBSD__, for declarations nothing in this project uses. */
