/* port_stack_peak() where the port does not measure its stack: unknown (0). A port that
 * paints its stack at start-up (ports/cortexm) defines the strong one. */
#include "tinyml_port.h"

__attribute__((weak)) uint32_t port_stack_peak(void)
{
    return 0u;
}
