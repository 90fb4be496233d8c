// Graphs keep initializers in a Map; immer drafts Maps only with this plugin.
import { enableMapSet } from 'immer';

enableMapSet();
