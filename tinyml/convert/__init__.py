"""Stage 4: convert. Full-integer int8 TFLite, checked in the real TFLite Micro interpreter."""
