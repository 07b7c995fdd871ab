/* Replay: windows of one machine from the run's test split, baked into replay_data.h, fed to
 * the detector one accelerometer reading at a time, as a sensor would deliver them. First the
 * detector is calibrated to that machine (replay_calibration.h: what `tinyml calibrate` fits
 * on its other normal windows); a machine of yours needs its own. Each scored window prints
 *   window 3 score=0.1234 ok           (or ANOMALY, and ALARM after enough in a row)
 *   output 1f2e...                     (the model's int8 output, hex, to compare with the host)
 * and "done" at the end. It uses no delay() or millis(): it runs the same in an emulator.
 * For a real sensor, call detector.feed(x, y, z) with each reading at TINYML_SAMPLE_RATE_HZ. */
#include <TinymlVibration.h>

#include "replay_calibration.h"
#include "replay_data.h"

TinymlVibration detector;
static uint32_t frame;
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
    detector.begin();
#if REPLAY_CALIBRATED
    detector.calibrate(replay_levels, REPLAY_THRESHOLD);
    Serial.println(F("calibrated to the replayed machine"));
#endif
    Serial.print(F("tinyml vibration: "));
    Serial.print(REPLAY_FRAMES / TINYML_VIB_WINDOW);
    Serial.print(F(" replayed windows, threshold "));
    Serial.println(detector.threshold(), 4);
}

void loop()
{
    if (frame < REPLAY_FRAMES) {
        const int16_t *reading = replay_data + REPLAY_CHANNELS * frame++;
        if (detector.feed(REPLAY_READ(reading), REPLAY_READ(reading + 1), REPLAY_READ(reading + 2))) {
            const TinymlAnomaly r = detector.result();
            Serial.print(F("window "));
            Serial.print(r.window);
            Serial.print(F(" score="));
            Serial.print(r.score, 4);
            Serial.print(r.anomaly ? F(" ANOMALY") : F(" ok"));
            if (r.alarm) {
                Serial.print(F(" ALARM"));
            }
            Serial.println();
            Serial.print(F("output "));
            printHex(detector.output(), detector.outputBytes());
            Serial.println();
        }
    } else if (!finished) {
        Serial.println(F("done"));
        finished = true;
    }
}
