export { seededRandom } from '../../shared/random';
