package dev.clearclip.gguf.quantize;

import dev.clearclip.gguf.GgmlType;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Bytes before and after a conversion or quantization, per {@link TensorClass}: "before" is the
 * source's storage (safetensors dtype or input GGUF type), "after" the written tensor data
 * (without alignment padding).
 */
public record SizeReport(List<Row> rows) {

    public SizeReport {
        rows = List.copyOf(rows);
    }

    /** One class of tensors: how many, their bytes before and after, and the types written. */
    public record Row(TensorClass tensorClass, int tensors, long bytesBefore, long bytesAfter, Set<GgmlType> outputTypes) {
        public Row {
            Objects.requireNonNull(tensorClass, "tensorClass");
            outputTypes = Collections.unmodifiableSet(outputTypes.isEmpty()
                    ? EnumSet.noneOf(GgmlType.class) : EnumSet.copyOf(outputTypes));
        }
    }

    public long bytesBefore() {
        return rows.stream().mapToLong(Row::bytesBefore).sum();
    }

    public long bytesAfter() {
        return rows.stream().mapToLong(Row::bytesAfter).sum();
    }

    /** A fixed-width text table, one line per class and a total. */
    public String format() {
        StringBuilder out = new StringBuilder(String.format("%-20s %7s %12s %12s  %s%n", "class", "tensors", "before MB", "after MB", "types"));
        for (Row row : rows) {
            out.append(String.format("%-20s %7d %12.2f %12.2f  %s%n", row.tensorClass().displayName(), row.tensors(),
                    row.bytesBefore() / 1e6, row.bytesAfter() / 1e6,
                    row.outputTypes().stream().map(GgmlType::ggmlName).collect(Collectors.joining(","))));
        }
        out.append(String.format("%-20s %7d %12.2f %12.2f%n", "total", rows.stream().mapToInt(Row::tensors).sum(),
                bytesBefore() / 1e6, bytesAfter() / 1e6));
        return out.toString();
    }

    /** Accumulates tensors into rows. */
    public static final class Builder {
        private final Map<TensorClass, long[]> counts = new EnumMap<>(TensorClass.class);
        private final Map<TensorClass, Set<GgmlType>> types = new EnumMap<>(TensorClass.class);

        public Builder add(TensorClass tensorClass, long bytesBefore, long bytesAfter, GgmlType outputType) {
            long[] c = counts.computeIfAbsent(tensorClass, k -> new long[3]);
            c[0]++;
            c[1] += bytesBefore;
            c[2] += bytesAfter;
            types.computeIfAbsent(tensorClass, k -> EnumSet.noneOf(GgmlType.class)).add(outputType);
            return this;
        }

        public SizeReport build() {
            return new SizeReport(counts.entrySet().stream()
                    .map(e -> new Row(e.getKey(), (int) e.getValue()[0], e.getValue()[1], e.getValue()[2], types.get(e.getKey())))
                    .toList());
        }
    }
}
