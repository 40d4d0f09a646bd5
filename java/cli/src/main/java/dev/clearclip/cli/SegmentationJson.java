package dev.clearclip.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.clearclip.LabelImages;
import dev.clearclip.ClassSet;
import dev.clearclip.SegmentOptions;
import dev.clearclip.SegmentationResult;

/**
 * The parts of a segmentation's JSON that {@code segment} writes to NAME.json and {@code serve} answers
 * on {@code /v1/segment}: one writer, so the two stay equal (the server's tests compare them).
 */
public final class SegmentationJson {

    private SegmentationJson() {
    }

    /** The pipeline settings the labels were computed with, as {@code "settings"} of {@code root}. */
    public static ObjectNode putSettings(ObjectNode root, SegmentOptions options) {
        ObjectNode settings = root.putObject("settings");
        settings.put("mode", options.mode().id());
        settings.put("naclip_std", options.naclipStd());
        settings.put("pamr_steps", options.pamrSteps());
        ArrayNode dilations = settings.putArray("pamr_dilations");
        for (int d : options.pamrDilations()) {
            dilations.add(d);
        }
        settings.put("short_side", options.shortSide());
        settings.put("crop", options.crop());
        settings.put("stride", options.stride());
        settings.put("logit_scale", options.logitScale());
        settings.put("prob_threshold", options.probThreshold());
        return settings;
    }

    /** One entry per class of {@code result} (index, name, synonyms, overlay colour, pixels, share). */
    public static void putClasses(ObjectNode root, SegmentationResult result, ClassSet classes) {
        ArrayNode out = root.putArray("classes");
        long pixels = (long) result.width() * result.height();
        for (int c = 0; c < result.classCount(); c++) {
            ObjectNode o = out.addObject();
            o.put("index", c);
            o.put("name", result.classNames().get(c));
            ArrayNode names = o.putArray("names");
            classes.classes().get(c).names().forEach(names::add);
            o.put("colour", String.format("#%06x", LabelImages.classColour(result, c)));
            o.put("pixels", Math.round(result.fractions()[c] * pixels));
            o.put("fraction", result.fractions()[c]);
        }
    }
}
