/* Port for the host-native board: the "UART" is a pseudo-terminal, opened like /dev/ttyACM0.
 * At start it prints "tinyml-native: serial PATH" on stdout, which `tinyml flash` reads. */
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "tinyml_port.h"

static int master_fd = -1;
static int slave_fd = -1;

void port_init(void)
{
    struct termios tio;
    const char *name;
    master_fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (master_fd < 0 || grantpt(master_fd) != 0 || unlockpt(master_fd) != 0) {
        perror("tinyml-native: cannot open a pseudo-terminal");
        exit(2);
    }
    name = ptsname(master_fd);
    /* Keep our own handle on the slave side: without one, reads on the master fail with EIO
     * whenever no client has the port open. Raw mode: bytes pass through untouched. */
    slave_fd = open(name, O_RDWR | O_NOCTTY);
    if (slave_fd < 0 || tcgetattr(slave_fd, &tio) != 0) {
        perror("tinyml-native: cannot open the pseudo-terminal's slave side");
        exit(2);
    }
    cfmakeraw(&tio);
    tcsetattr(slave_fd, TCSANOW, &tio);
    printf("tinyml-native: serial %s\n", name);
    fflush(stdout);
}

int port_read_byte(void)
{
    struct pollfd pfd;
    unsigned char byte;
    pfd.fd = master_fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    /* Wait a little instead of spinning: the host process should not burn a core. */
    if (poll(&pfd, 1, 10) <= 0 || read(master_fd, &byte, 1) != 1) {
        return -1;
    }
    return (int)byte;
}

void port_write(const uint8_t *data, size_t length)
{
    while (length > 0u) {
        ssize_t n = write(master_fd, data, length);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return;
        }
        data += n;
        length -= (size_t)n;
    }
}

void port_idle(void)
{
    /* port_read_byte() already waits up to 10 ms in poll(). */
}
