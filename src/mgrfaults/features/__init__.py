"""Features stage: STFT frames and MFCC texture windows into sharded HDF5, and their reader."""
