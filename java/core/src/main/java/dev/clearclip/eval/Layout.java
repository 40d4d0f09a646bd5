package dev.clearclip.eval;

import java.util.List;

/**
 * Folder layout of a benchmark's validation split, relative to the dataset folder. Listed layouts
 * read the picture ids from a split file; the others take every picture below the image folder, in
 * path order, as mmsegmentation does.
 */
enum Layout {
    VOC("PASCAL VOC 2012", List.of("VOC2012", "VOCdevkit/VOC2012"),
            "ImageSets/Segmentation/val.txt", "JPEGImages", ".jpg", "SegmentationClass", ".png"),
    CONTEXT("PASCAL Context", List.of("VOC2010", "VOCdevkit/VOC2010"),
            "ImageSets/SegmentationContext/val.txt", "JPEGImages", ".jpg", "SegmentationClassContext", ".png"),
    COCO_STUFF("COCO-Stuff 164k", List.of("coco_stuff164k"),
            null, "images/val2017", ".jpg", "annotations/val2017", "_labelTrainIds.png"),
    COCO_OBJECT("COCO-Object (converted COCO-Stuff 164k)", List.of("coco_stuff164k"),
            null, "images/val2017", ".jpg", "annotations/val2017", "_instanceTrainIds.png"),
    CITYSCAPES("Cityscapes", List.of("cityscapes"),
            null, "leftImg8bit/val", "_leftImg8bit.png", "gtFine/val", "_gtFine_labelTrainIds.png"),
    ADE20K("ADE20K", List.of("ADEChallengeData2016", "ade/ADEChallengeData2016"),
            null, "images/validation", ".jpg", "annotations/validation", ".png");

    final String title;
    /** Sub-folders of the given root that are tried after the root itself. */
    final List<String> nested;
    /** Split file listing the ids, or null to scan the image folder. */
    final String splitFile;
    final String imageDir;
    final String imageSuffix;
    final String labelDir;
    final String labelSuffix;

    Layout(String title, List<String> nested, String splitFile, String imageDir, String imageSuffix,
           String labelDir, String labelSuffix) {
        this.title = title;
        this.nested = nested;
        this.splitFile = splitFile;
        this.imageDir = imageDir;
        this.imageSuffix = imageSuffix;
        this.labelDir = labelDir;
        this.labelSuffix = labelSuffix;
    }

    /** The marker whose presence identifies the dataset folder. */
    String marker() {
        return splitFile != null ? splitFile : imageDir;
    }

    String describe() {
        String perCity = this == CITYSCAPES ? "<city>/" : "";
        String images = imageDir + "/" + perCity + "*" + imageSuffix;
        String labels = labelDir + "/" + perCity + "*" + labelSuffix;
        return (splitFile != null ? splitFile + " (ids), " : "") + images + ", " + labels;
    }
}
