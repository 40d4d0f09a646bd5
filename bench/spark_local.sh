#!/usr/bin/env bash
# Pictures/s of the Spark job (java/spark) in local[1] against local[2] on the ViT-B/16-sized test model.
#
#   bench/spark_local.sh [PICTURES]        (default 16; after `mvn ... -pl java/spark -am package -DskipTests`)
#
# Converts build/fixtures/hf-vitb16 to build/bench/vitb16-f16.gguf once, writes PICTURES generated
# 500x375 PNG pictures (different seeds) under build/bench/spark-in, then runs the job over them with
# --master 'local[N]' for N = 1 and 2, VOC21 settings, and prints the job's summary line of each run.
# Each run includes the session start and the model load; the pictures/s of the summary covers the write
# stage only (reading, segmenting, writing Parquet).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-16}
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
OUT=build/bench
MODEL=$OUT/vitb16-f16.gguf
mkdir -p "$OUT"
FLAGS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Dio.netty.tryReflectionSetAccessible=true)
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.util.calendar; do
    FLAGS+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
CP="java/spark/target/clearclip-spark.jar:java/spark/target/lib/*"
if [[ ! -f $MODEL ]]; then
    # the converter (gguf-tools, built by -am) with the Jackson that target/lib carries for Spark
    "$JAVA" -cp "gguf-tools/target/classes:$CP" dev.clearclip.gguf.GgufToolsMain convert build/fixtures/hf-vitb16 \
        -o "$MODEL" --type f16 --quiet
fi
rm -rf "$OUT/spark-in"
mkdir -p "$OUT/spark-in"
# generated pictures: blocks of random colours, one seed per picture (a single-file Java program)
cat > "$OUT/MakePictures.java" <<'JAVA_EOF'
import java.awt.image.BufferedImage;
import java.io.File;
import java.util.Random;
import javax.imageio.ImageIO;

class MakePictures {
    public static void main(String[] a) throws Exception {
        for (int i = 0; i < Integer.parseInt(a[1]); i++) {
            Random r = new Random(i);
            BufferedImage im = new BufferedImage(500, 375, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < 375; y++) {
                for (int x = 0; x < 500; x++) {
                    im.setRGB(x, y, (x / 50 * 7 + y / 50 * 13 + i) % 2 == 0 ? 0x3060C0 : r.nextInt(0x1000000) & 0x7F7F7F);
                }
            }
            ImageIO.write(im, "png", new File(a[0], String.format("p%04d.png", i)));
        }
    }
}
JAVA_EOF
"$JAVA" "$OUT/MakePictures.java" "$OUT/spark-in" "$N"
echo "pictures: $N (500x375), model: $MODEL, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for master in 'local[1]' 'local[2]'; do
    rm -rf "$OUT/spark-out"
    start=$(date +%s.%N)
    "$JAVA" "${FLAGS[@]}" -cp "$CP" dev.clearclip.spark.SegmentJob --master "$master" -m "$MODEL" \
        --input "$OUT/spark-in" --output "$OUT/spark-out" --preset voc21 2>"$OUT/spark-$master.log" \
        | sed "s/^/$master: /"
    echo "$master: whole run (JVM, session, model load) $(echo "$(date +%s.%N) - $start" | bc) s"
done
