using QuickSilver.Policies;

namespace QuickSilver.Policies.Tests;

public class FunctionWordLexiconTests
{
    [Theory]
    [InlineData("the", PartOfSpeechCategory.Determiner)]
    [InlineData("this", PartOfSpeechCategory.Determiner)]
    [InlineData("those", PartOfSpeechCategory.Determiner)]
    [InlineData("in", PartOfSpeechCategory.Preposition)]
    [InlineData("on", PartOfSpeechCategory.Preposition)]
    [InlineData("over", PartOfSpeechCategory.Preposition)]
    [InlineData("and", PartOfSpeechCategory.Conjunction)]
    [InlineData("but", PartOfSpeechCategory.Conjunction)]
    [InlineData("or", PartOfSpeechCategory.Conjunction)]
    [InlineData("he", PartOfSpeechCategory.Pronoun)]
    [InlineData("we", PartOfSpeechCategory.Pronoun)]
    [InlineData("our", PartOfSpeechCategory.Pronoun)]
    [InlineData("is", PartOfSpeechCategory.Auxiliary)]
    [InlineData("does", PartOfSpeechCategory.Auxiliary)]
    [InlineData("can", PartOfSpeechCategory.Auxiliary)]
    [InlineData("dog", PartOfSpeechCategory.Content)]
    [InlineData("run", PartOfSpeechCategory.Content)]
    [InlineData("fast", PartOfSpeechCategory.Content)]
    [InlineData("really", PartOfSpeechCategory.Content)]
    public void Table_2_examples_are_classified_as_in_the_paper(string word, PartOfSpeechCategory category) =>
        Assert.Equal(category, FunctionWordLexicon.Classify(word));

    [Theory]
    [InlineData("that", PartOfSpeechCategory.Determiner)]
    [InlineData("either", PartOfSpeechCategory.Determiner)]
    [InlineData("many", PartOfSpeechCategory.Determiner)]
    [InlineData("for", PartOfSpeechCategory.Preposition)]
    [InlineData("her", PartOfSpeechCategory.Pronoun)]
    [InlineData("so", PartOfSpeechCategory.Conjunction)]
    [InlineData("more", PartOfSpeechCategory.Content)]
    [InlineData("done", PartOfSpeechCategory.Content)]
    public void Ambiguous_words_take_their_documented_reading(string word, PartOfSpeechCategory category) =>
        Assert.Equal(category, FunctionWordLexicon.Classify(word));

    [Theory]
    [InlineData("Ġthe", PartOfSpeechCategory.Determiner)]
    [InlineData("▁The", PartOfSpeechCategory.Determiner)]
    [InlineData(" THE,", PartOfSpeechCategory.Determiner)]
    [InlineData("\"Over.\"", PartOfSpeechCategory.Preposition)]
    [InlineData("'s", PartOfSpeechCategory.Auxiliary)]
    [InlineData("don’t", PartOfSpeechCategory.Auxiliary)]
    [InlineData("'The", PartOfSpeechCategory.Determiner)]
    [InlineData("dogs'", PartOfSpeechCategory.Content)]
    [InlineData("!!", PartOfSpeechCategory.Other)]
    [InlineData("42", PartOfSpeechCategory.Other)]
    [InlineData("", PartOfSpeechCategory.Other)]
    [InlineData("Ġ", PartOfSpeechCategory.Other)]
    public void Token_pieces_are_normalized(string piece, PartOfSpeechCategory category) =>
        Assert.Equal(category, FunctionWordLexicon.Classify(piece));

    [Theory]
    [InlineData(PartOfSpeechCategory.Determiner)]
    [InlineData(PartOfSpeechCategory.Preposition)]
    [InlineData(PartOfSpeechCategory.Conjunction)]
    [InlineData(PartOfSpeechCategory.Pronoun)]
    [InlineData(PartOfSpeechCategory.Auxiliary)]
    public void Each_function_class_has_a_reasonable_list_that_classifies_back(PartOfSpeechCategory category)
    {
        var words = FunctionWordLexicon.Words(category);
        Assert.InRange(words.Count, 20, 80);
        Assert.True(FunctionWordLexicon.IsFunctionWord(category));
        foreach (var word in words)
        {
            Assert.Equal(category, FunctionWordLexicon.Classify(word));
            Assert.Equal(category, FunctionWordLexicon.Classify(" " + word.ToUpperInvariant()));
        }
    }

    [Fact]
    public void Open_classes_have_no_list()
    {
        Assert.Empty(FunctionWordLexicon.Words(PartOfSpeechCategory.Content));
        Assert.Empty(FunctionWordLexicon.Words(PartOfSpeechCategory.Other));
        Assert.False(FunctionWordLexicon.IsFunctionWord(PartOfSpeechCategory.Content));
        Assert.False(FunctionWordLexicon.IsFunctionWord(PartOfSpeechCategory.Other));
    }
}
