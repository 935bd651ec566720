namespace QuickSilver.Policies;

/// <summary>The coarse word classes of the paper's Table 2 (Penn Treebank tags grouped into function and content words).</summary>
public enum PartOfSpeechCategory
{
    /// <summary>Determiners (DT, PDT, WDT): the, this, those, every.</summary>
    Determiner,
    /// <summary>Prepositions and subordinators (IN, TO): in, on, over.</summary>
    Preposition,
    /// <summary>Coordinating conjunctions (CC) and common subordinating conjunctions: and, but, or, because.</summary>
    Conjunction,
    /// <summary>Personal, possessive and wh- pronouns (PRP, PRP$, WP, WP$): he, we, our.</summary>
    Pronoun,
    /// <summary>Modals and auxiliary verb forms (MD, be/have/do): is, does, can.</summary>
    Auxiliary,
    /// <summary>Everything else that is a word: nouns, verbs, adjectives, adverbs (NN, VB, JJ, RB).</summary>
    Content,
    /// <summary>Not a word: empty, punctuation, or digits only. Not one of the paper's categories; kept apart so it does not inflate the content-word counts.</summary>
    Other,
}
