/* Replay: audio from the run's test split (keywords, then background), baked into
 * replay_data.h, fed to the keyword spotter one sample at a time, as a microphone would deliver
 * it. Each classified window (every TINYML_KWS_HOP_FRAMES frames of 20 ms) prints
 *   window 3 yes p=0.912 KEYWORD       (or the top class without KEYWORD)
 *   output 1f2e...                     (the model's int8 output, hex, to compare with the host)
 * and "done" at the end. It uses no delay() or millis(): it runs the same in an emulator.
 * For a real microphone, call kws.feed(sample) with each sample at TINYML_SAMPLE_RATE_HZ. */
#include <TinymlKws.h>

#include "replay_data.h"

TinymlKws kws;
static uint32_t sample;
static bool finished;

static void printHex(const int8_t *bytes, uint16_t count)
{
    static const char digits[] = "0123456789abcdef";
    for (uint16_t i = 0; i < count; ++i) {
        const uint8_t b = (uint8_t)bytes[i];
        Serial.write(digits[b >> 4]);
        Serial.write(digits[b & 15u]);
    }
}

void setup()
{
    Serial.begin(115200);
    kws.begin();
    Serial.print(F("tinyml kws: "));
    Serial.print(REPLAY_FRAMES);
    Serial.print(F(" replayed samples, "));
    Serial.print(kws.classes());
    Serial.println(F(" classes"));
}

void loop()
{
    if (sample < REPLAY_FRAMES) {
        if (kws.feed(REPLAY_READ(replay_data + sample++))) {
            const TinymlKeyword r = kws.result();
            Serial.print(F("window "));
            Serial.print(r.window);
            Serial.print(' ');
            Serial.print(r.label);
            Serial.print(F(" p="));
            Serial.print(r.score, 3);
            if (r.keyword) {
                Serial.print(F(" KEYWORD"));
            }
            Serial.println();
            Serial.print(F("output "));
            printHex(kws.output(), kws.outputBytes());
            Serial.println();
        }
    } else if (!finished) {
        Serial.println(F("done"));
        finished = true;
    }
}
