/* Readable lines on the serial link: see tinyml_print.h. */
#include "tinyml_print.h"

#include "tinyml_port.h"

void print_str(const char *s)
{
    const char *end = s;
    while (*end != '\0') {
        ++end;
    }
    port_write((const uint8_t *)s, (size_t)(end - s));
}

void print_u32(uint32_t value)
{
    char digits[11];
    char *p = digits + sizeof digits - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    print_str(p);
}

void print_milli(int32_t value)
{
    uint32_t magnitude = value < 0 ? (uint32_t)(-(value + 1)) + 1u : (uint32_t)value;
    char frac[5];
    if (value < 0) {
        print_str("-");
    }
    print_u32(magnitude / 1000u);
    frac[0] = '.';
    frac[1] = (char)('0' + (magnitude / 100u) % 10u);
    frac[2] = (char)('0' + (magnitude / 10u) % 10u);
    frac[3] = (char)('0' + magnitude % 10u);
    frac[4] = '\0';
    print_str(frac);
}

void print_hex(const int8_t *bytes, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint32_t i;
    for (i = 0; i < n; ++i) {
        uint8_t pair[2];
        pair[0] = (uint8_t)hex[((uint8_t)bytes[i]) >> 4];
        pair[1] = (uint8_t)hex[((uint8_t)bytes[i]) & 0xFu];
        port_write(pair, 2u);
    }
}

void print_end(void)
{
    static const uint8_t end[3] = {'\r', '\n', 0u};
    port_write(end, sizeof end);
}
