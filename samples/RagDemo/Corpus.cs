namespace RagDemo;

/// <summary>The demo's documents: short stories in the style the default model (stories260K, TinyStories) was trained on.</summary>
internal static class Corpus
{
    public static IReadOnlyList<(string Source, string Text)> Documents { get; } =
    [
        ("tom-apples", "Tom had a little red basket. One day he went to the garden to pick apples. He found three apples under the big tree. " +
            "Then he found four more apples near the fence. Tom was very happy. He gave two apples to his mom and ate one."),
        ("lily-dog", "Lily had a small brown dog named Max. Max liked to run in the park. One day Max found a blue ball in the grass. " +
            "Lily threw the ball and Max ran after it. They played all day until the sun went down."),
        ("ben-boat", "Ben made a boat out of paper. He put the boat in the pond. The wind pushed the boat far away. " +
            "Ben was sad, but a kind duck pushed the boat back to him. Ben said thank you to the duck."),
        ("mia-kite", "Mia had a yellow kite. She went to the hill with her dad. The wind was strong and the kite flew high in the sky. " +
            "The string broke and the kite got stuck in a tree. Her dad climbed the tree and got the kite back."),
        ("sam-cake", "Sam wanted to make a cake for his sister. He used milk, eggs and flour. The cake was big and sweet. " +
            "His sister smiled and they ate the cake together at the table."),
    ];
}
